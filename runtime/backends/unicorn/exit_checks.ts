// No exit check after guest loads on libunicorn 2.1.4 (x86-64 builds): two tail jumps of the loaded
// library become returns, in memory only.
//
// Why: Unicorn ends tcg_gen_qemu_ld_i32/_i64 and tcg_gen_qemu_st_i32/_i64 with a tail call of
// check_exit_request(tcg_ctx), which emits a call to helper_check_exit_request after the access,
// so that a stop requested during it takes effect before the next instruction. TCG writes its
// cached guest registers back before any helper call. Measured: 15-30 % of coremark_like, sha256
// and memcpy_bench.
//
// Stores need it: a store that faults (unmapped, PROT_NONE) only asks for the stop and returns,
// and without the check the next instructions ran before the SIGSEGV (measured). A load that
// faults leaves at once through cpu_loop_exit (unmapped, PROT_NONE and execute-only pages, all
// measured), so elfuse drops the check after loads only: `jmp check_exit_request@plt` at the end
// of the two load generators becomes `ret`. Both must end in the same 14 bytes and jump where
// tcg_gen_qemu_st_i32 does (to check_exit_request), or nothing is changed. In Debian's 2.1.4-4
// the tails are at +0x44 and +0x34.
import { findSites, writeCode } from "./code_patch.ts";

/** `mov 0x8(%rsp),%rdi; add $0x18,%rsp; jmp rel32`: the generators' tail call. */
export const TAIL = Uint8Array.of(0x48, 0x8b, 0x7c, 0x24, 0x08, 0x48, 0x83, 0xc4, 0x18, 0xe9);
/** `ret; nopl 0x0(%rax)`: the same five bytes, returning instead. */
export const RETURN = Uint8Array.of(0xc3, 0x0f, 0x1f, 0x40, 0x00);
/** Enough for each generator; the next function's tail may follow, so the first one counts. */
const SCAN_BYTES = 0x80;

/** The generators' addresses (pointer statics of the loaded library; null when not exported). */
export interface Generators {
  tcg_gen_qemu_ld_i32_aarch64: Deno.PointerValue;
  tcg_gen_qemu_ld_i64_aarch64: Deno.PointerValue;
  tcg_gen_qemu_st_i32_aarch64: Deno.PointerValue;
}

/** Where the first tail call in `code` (at address `base`) jumps, or -1 when it has none. */
export function tailTarget(code: Uint8Array, base: number): number {
  const hits = findSites(code, TAIL);
  if (hits.length === 0) return -1;
  const jmp = hits[0] + TAIL.length - 1;
  const rel = new DataView(code.buffer, code.byteOffset + jmp + 1, 4).getInt32(0, true);
  return base + jmp + 5 + rel;
}

/** Returns "" when loads of the loaded libunicorn are no longer followed by exit checks. */
export function skipLoadExitChecks(s: Generators): string {
  if (Deno.env.get("ELFUSE_UNICORN_TUNING") === "0") return "off (ELFUSE_UNICORN_TUNING=0)";
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return "no patch known for this host's libunicorn";
  }
  const ld32 = s.tcg_gen_qemu_ld_i32_aarch64, ld64 = s.tcg_gen_qemu_ld_i64_aarch64;
  const st32 = s.tcg_gen_qemu_st_i32_aarch64;
  if (ld32 === null || ld64 === null || st32 === null) return "tcg_gen_qemu_*_aarch64 not exported";
  const view = (p: Deno.PointerObject) => ({
    base: Number(Deno.UnsafePointer.value(p)),
    code: new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, SCAN_BYTES)),
  });
  const store = view(st32);
  const target = tailTarget(store.code, store.base);
  const loads = [view(ld32), view(ld64)];
  // Patched earlier in this process: both loads end in a return where the jump was.
  const done = loads.every(({ code }) =>
    findSites(code, TAIL.subarray(0, 9)).some((at) =>
      code[at + 9] === RETURN[0] && code[at + 10] === RETURN[1]
    )
  );
  if (done) return "";
  if (target < 0 || !loads.every(({ code, base }) => tailTarget(code, base) === target)) {
    return "unknown libunicorn build (load exit check not recognised)";
  }
  for (const { code, base } of loads) {
    const at = findSites(code, TAIL)[0] + TAIL.length - 1;
    if (!writeCode(code, base, at, RETURN)) return "cannot make libunicorn's code writable";
  }
  return "";
}
