// Replacing a whole image (execve, an in-process fork child handing memory back) unmaps and maps
// everything again, and a backend that drops its translated code with each unmap then translates
// the same program again: a shell exec'ing its own busybox, a parent getting its pages back. For
// a backend that reads guest memory through the slab's host addresses (Unicorn), a batch instead
// tells it only the net change at the end, and drops translations only where code bytes changed.
import { libc } from "../host/libc.ts";
import type { AddressSpace, PageMapper } from "./address_space.ts";
import { PROT_EXEC, PROT_NONE } from "./vmas.ts";

interface Span {
  start: number;
  end: number;
  prot: number;
}

/** Mappers standing in for the backend during a batch (a batch inside a batch adds nothing). */
const standIns = new WeakSet<PageMapper>();

/** Runs `change` (which remaps `as`) with the backend told only the net change afterwards. */
export function batchMappings<T>(as: AddressSpace, change: () => T): T {
  const real = as.mapper;
  if (real === undefined || real.keepsTranslations !== true || standIns.has(real)) return change();
  const before: Span[] = as.vmas.list.map(({ start, end, prot }) => ({ start, end, prot }));
  const code = before.filter((v) => v.prot & PROT_EXEC).map((v) => ({
    ...v,
    bytes: as.slab.u8.slice(v.start, v.end),
  }));
  // Mappings wait for the net change; news that code may change in place does not.
  const standIn: PageMapper = {
    map() {},
    unmap() {},
    protect() {},
    invalidateCode() {},
    codeMayChange: () => real.codeMayChange?.(),
  };
  standIns.add(standIn);
  as.mapper = standIn;
  try {
    return change();
  } finally {
    as.mapper = real;
    const after: Span[] = as.vmas.list.map(({ start, end, prot }) => ({ start, end, prot }));
    // Keep translations only for code that is still there, byte for byte. The rest are dropped
    // before the backend's mappings change: a backend finds them through the mapping, and ones
    // left under a mapping that is gone would match code mapped at the same place later.
    const mem = as.slab.u8;
    for (const c of code) {
      const same = after.some((v) =>
        v.start === c.start && v.end === c.end && (v.prot & PROT_EXEC) &&
        equal(mem, c.start, c.bytes)
      );
      if (!same) real.invalidateCode(c.start, c.end - c.start);
    }
    // PROT_NONE pages are not the backend's (address_space.ts #add).
    const given = (spans: Span[]) => spans.filter((v) => v.prot !== PROT_NONE);
    applyNetChange(real, given(before), given(after));
    for (const v of after) {
      if (!(v.prot & PROT_EXEC)) continue;
      if (!code.some((c) => c.start === v.start && c.end === v.end)) {
        real.invalidateCode(v.start, v.end - v.start);
      }
    }
  }
}

function equal(mem: Uint8Array, at: number, bytes: Uint8Array): boolean {
  const p = (b: Uint8Array) => Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));
  return libc.memcmp(p(mem) + at, p(bytes), bytes.length) === 0;
}

/** The protection at each point of `spans` (sorted, disjoint), or -1 where nothing is mapped. */
function protAt(spans: Span[], i: { at: number }, addr: number): number {
  while (i.at < spans.length && spans[i.at].end <= addr) i.at++;
  const s = spans[i.at];
  return s !== undefined && s.start <= addr ? s.prot : -1;
}

/** Tells `mapper` how to get from `before` to `after` with as few calls as it takes. */
export function applyNetChange(mapper: PageMapper, before: Span[], after: Span[]): void {
  const cuts = [...new Set([...before, ...after].flatMap((s) => [s.start, s.end]))].sort((a, b) =>
    a - b
  );
  const ib = { at: 0 }, ia = { at: 0 };
  // Runs of the same action are merged: [kind, start, end, prot].
  let run: [string, number, number, number] | undefined;
  const flush = () => {
    if (run === undefined) return;
    const [kind, start, end, prot] = run;
    if (kind === "unmap") mapper.unmap(start, end - start);
    else if (kind === "map") mapper.map(start, end - start, prot);
    else if (kind === "protect") mapper.protect(start, end - start, prot);
    run = undefined;
  };
  for (let k = 0; k + 1 < cuts.length; k++) {
    const a = cuts[k], b = cuts[k + 1];
    const was = protAt(before, ib, a), now = protAt(after, ia, a);
    const kind = was === now ? "keep" : now < 0 ? "unmap" : was < 0 ? "map" : "protect";
    if (run !== undefined && run[0] === kind && run[2] === a && run[3] === now) run[2] = b;
    else {
      flush();
      run = [kind, a, b, now];
    }
  }
  flush();
}
