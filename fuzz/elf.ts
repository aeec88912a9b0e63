// The ELF fuzzer: runs each mutant of a few valid programs under elfuse -v in the sandbox and
// judges it: a one-line refusal with the shell's status, or a guest run that ends any way the
// guest may end, is fine; anything in judge.ts is a failure, minimised to the fewest edits.
import { binaryPath } from "../fixtures/build.ts";
import { sysrootDirs } from "../fixtures/catalog.ts";
import { apply, describeRecipe, type Edit, type ElfBase, recipe } from "./elf_mutator.ts";
import {
  commonFailures,
  type Failure,
  FAULT_NOTE,
  FAULT_SIGNALS,
  multiLineError,
} from "./judge.ts";
import type { RunResult, Sandbox } from "./sandbox.ts";

export interface ElfCampaign {
  seed: number;
  /** Mutants per base program. */
  mutants: number;
  /** The first mutant index (to resume or split a campaign). */
  first?: number;
  /** A guest that runs longer than this (after elfuse loaded it) is stopped: not a failure. */
  timeoutMs: number;
}

export interface ElfFinding extends Failure {
  base: string;
  seed: number;
  index: number;
  /** The minimal edits that still fail the same way. */
  edits: Edit[];
  recipe: string;
  replay: string;
}

export interface ElfStats {
  mutants: number;
  refused: number;
  ran: number;
  findings: ElfFinding[];
}

/** The programs mutated: static, static-PIE, libc-free, and dynamic (with the cross sysroot). */
export function elfBases(): ElfBase[] {
  const bases: ElfBase[] = [];
  for (const name of ["hello", "static_pie", "hello_nolibc", "dyn_hello"]) {
    let bytes: Uint8Array;
    try {
      bytes = Deno.readFileSync(binaryPath(name));
    } catch {
      continue; // not built
    }
    const sysroot = name === "dyn_hello" ? sysrootDirs.cross : undefined;
    if (sysroot !== undefined && !exists(sysroot)) continue;
    bases.push({ name, bytes, sysroot });
  }
  return bases;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Runs one mutant (bytes) in a fresh directory. */
export function runMutant(
  sb: Sandbox,
  base: ElfBase,
  bytes: Uint8Array,
  timeoutMs: number,
): Promise<RunResult> {
  const dir = sb.workdir("elf");
  Deno.writeFileSync(`${dir}/mutant`, bytes, { mode: 0o755 });
  // A FIFO for PT_INTERP "./fifo" (elf_mutator.ts INTERP_TEXTS): opening one would block.
  new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).outputSync();
  return sb.run({
    elfuseArgs: ["-v", ...(base.sysroot ? ["--sysroot", base.sysroot] : []), "./mutant"],
    cwd: dir,
    timeoutMs,
    stdin: new TextEncoder().encode("fuzz stdin\n"),
  });
}

/** What is wrong with a mutant's run (nothing: elfuse refused it in one line, or ran it). */
export function judgeMutant(r: RunResult): Failure[] {
  const loaded = /^elfuse: loaded in /m.test(r.stderr);
  // A guest that runs on (a mutated entry point may loop) is the guest's business.
  const found = commonFailures(r).filter((f) => !(f.kind === "hang" && loaded));
  const multi = multiLineError(r);
  if (multi) found.push(multi);
  // A death by a fault signal is the guest's if elfuse -v said the guest faulted.
  if (
    r.signal !== undefined && !r.timedOut && FAULT_SIGNALS.has(r.signal) &&
    !FAULT_NOTE.test(r.stderr)
  ) {
    found.push({
      kind: "host signal",
      detail: `elfuse ended by ${r.signal} without a guest fault`,
    });
  }
  return found;
}

export async function fuzzElf(
  sb: Sandbox,
  c: ElfCampaign,
  progress: (line: string) => void = () => {},
): Promise<ElfStats> {
  const stats: ElfStats = { mutants: 0, refused: 0, ran: 0, findings: [] };
  const bases = elfBases();
  const first = c.first ?? 0;
  for (let index = first; index < first + c.mutants; index++) {
    for (const base of bases) {
      const edits = recipe(c.seed, index, base);
      const r = await runMutant(sb, base, apply(base.bytes, edits), c.timeoutMs);
      stats.mutants++;
      if (/^elfuse: loaded in /m.test(r.stderr)) stats.ran++;
      else if (r.code === 126 || r.code === 127) stats.refused++;
      for (const f of judgeMutant(r)) {
        const same = (g: ElfFinding) =>
          g.kind === f.kind && g.base === base.name &&
          g.detail.replace(/\d+/g, "N") === f.detail.replace(/\d+/g, "N");
        if (stats.findings.some(same)) continue;
        const minimal = await minimise(sb, base, edits, f.kind, c.timeoutMs);
        const finding: ElfFinding = {
          ...f,
          base: base.name,
          seed: c.seed,
          index,
          edits: minimal,
          recipe: `${base.name}: ${describeRecipe(minimal)}`,
          replay: `deno task fuzz --replay elf:${c.seed}:${index}:${base.name}`,
        };
        stats.findings.push(finding);
        progress(`FAIL ${describeElf(finding)}`);
      }
    }
    if ((index - first + 1) % 10 === 0 || index === first + c.mutants - 1) {
      progress(
        `elf seed ${c.seed}: ${stats.mutants} mutants, ${stats.refused} refused, ${stats.ran} ran, ${stats.findings.length} finding(s)`,
      );
    }
  }
  return stats;
}

/** The smallest subset of `edits` (single edits first, then pairs) that fails the same way. */
async function minimise(
  sb: Sandbox,
  base: ElfBase,
  edits: Edit[],
  kind: Failure["kind"],
  timeoutMs: number,
): Promise<Edit[]> {
  if (edits.length === 1) return edits;
  const subsets: Edit[][] = [
    ...edits.map((e) => [e]),
    ...edits.flatMap((a, i) => edits.slice(i + 1).map((b) => [a, b])),
  ].filter((s) => s.length < edits.length);
  for (const s of subsets) {
    const r = await runMutant(sb, base, apply(base.bytes, s), timeoutMs);
    if (judgeMutant(r).some((f) => f.kind === kind)) return s;
  }
  return edits;
}

export function describeElf(f: ElfFinding): string {
  return `${f.kind}: ${f.detail}\n  recipe: ${f.recipe}\n  replay: ${f.replay}`;
}
