// No exit check after guest stores either, on libunicorn 2.1.4 (x86-64 builds): a store that
// faults leaves the block at once instead, as a load does. In memory only, like exit_checks.ts.
//
// Why: the check after every store (helper_check_exit_request, see exit_checks.ts) was measured at
// 18 % of sieve's samples, 19 % of memcpy_bench's and 11 % of sha256's, besides the register
// write-back TCG does before each helper call. It was kept because Unicorn's store_helper, when
// the memory is unmapped or read-only and no hook maps it, only records the error and ends with a
// tail call of cpu_exit(uc->cpu): the instructions after the store in its block ran before the
// SIGSEGV. Unicorn's load_helper instead calls cpu_exit and then cpu_loop_exit_restore(cpu,
// retaddr), which puts the pc back on the faulting instruction and leaves the block. This gives
// store_helper's failure tail the same two calls (store_helper is static: it is found through
// helper_le_stq_mmu's tail jump), and only then makes the check-emitting tail call of
// tcg_gen_qemu_st_i32/_i64 a return. A stop asked for by another thread (the signal listener,
// the TLB growth timer) still takes effect at the next block, as after loads.
//
// store_helper's failure tail in Debian's 2.1.4-4 (uc in r12, the caller's retaddr at 0x18(%rsp),
// the stack aligned for a call): `mov 0x1b8(%r12),%rdi; add $0x88,%rsp; pop %rbx; pop %rbp;
// pop %r12; pop %r13; pop %r14; pop %r15; jmp cpu_exit; nopl` (35 bytes). It becomes `mov
// 0x1b8(%r12),%rdi; call cpu_exit; mov 0x1b8(%r12),%rdi; mov 0x18(%rsp),%rsi; call
// cpu_loop_exit_restore; ud2; xchg %ax,%ax`. Without the exact bytes nothing is changed.
import { findSites, writeCode } from "./code_patch.ts";
import { RETURN, TAIL, tailTarget } from "./exit_checks.ts";

/** The failure tail before its final jump's displacement. */
export const FAILURE_TAIL = Uint8Array.of(
  0x49,
  0x8b,
  0xbc,
  0x24,
  0xb8,
  0x01,
  0x00,
  0x00, // mov 0x1b8(%r12),%rdi (uc->cpu)
  0x48,
  0x81,
  0xc4,
  0x88,
  0x00,
  0x00,
  0x00, // add $0x88,%rsp
  0x5b,
  0x5d,
  0x41,
  0x5c,
  0x41,
  0x5d,
  0x41,
  0x5e,
  0x41,
  0x5f, // pop rbx rbp r12 r13 r14 r15
  0xe9, // jmp rel32 (cpu_exit)
);
/** The 5 bytes of padding after the jump's displacement, which the new code also uses. */
const PADDING = Uint8Array.of(0x0f, 0x1f, 0x44, 0x00, 0x00);
const TAIL_BYTES = FAILURE_TAIL.length + 4 + PADDING.length;
/** How far into store_helper the tail is looked for (it is at +0x45d in 2.1.4-4). */
const SCAN_BYTES = 0x1000;

/** The symbols the patch needs (pointer statics of the loaded library; null when not exported). */
export interface StoreSymbols {
  helper_le_stq_mmu_aarch64: Deno.PointerValue;
  cpu_loop_exit_restore_aarch64: Deno.PointerValue;
  tcg_gen_qemu_st_i32_aarch64: Deno.PointerValue;
  tcg_gen_qemu_st_i64_aarch64: Deno.PointerValue;
}

const address = (p: Deno.PointerObject) => Number(Deno.UnsafePointer.value(p));
const view = (at: number, n: number) =>
  new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(Deno.UnsafePointer.create(BigInt(at))!, n));

function rel32(from: number, to: number): number[] {
  const d = to - from;
  return [d & 0xff, (d >>> 8) & 0xff, (d >>> 16) & 0xff, (d >>> 24) & 0xff];
}

/** The new tail at host address `at`: cpu_exit at `exit`, then cpu_loop_exit_restore at `leave`. */
export function exitingTail(at: number, exit: number, leave: number): Uint8Array {
  const code = [0x49, 0x8b, 0xbc, 0x24, 0xb8, 0x01, 0x00, 0x00]; // mov 0x1b8(%r12),%rdi
  code.push(0xe8, ...rel32(at + code.length + 5, exit)); // call cpu_exit
  code.push(0x49, 0x8b, 0xbc, 0x24, 0xb8, 0x01, 0x00, 0x00); // mov 0x1b8(%r12),%rdi
  code.push(0x48, 0x8b, 0x74, 0x24, 0x18); // mov 0x18(%rsp),%rsi (retaddr)
  code.push(0xe8, ...rel32(at + code.length + 5, leave)); // call cpu_loop_exit_restore
  code.push(0x0f, 0x0b, 0x66, 0x90); // ud2 (it never returns); xchg %ax,%ax
  return Uint8Array.from(code);
}

/**
 * Where store_helper's failure tail is (host address) and the cpu_exit it jumps to, or a reason.
 * `stq` is helper_le_stq_mmu: `mov $3,%r9d; jmp store_helper` after its endbr64.
 */
function findFailureTail(stq: number): { at: number; exit: number; done: boolean } | string {
  const head = view(stq, 16);
  if (head[4] !== 0x41 || head[5] !== 0xb9 || head[10] !== 0xe9) {
    return "unknown libunicorn build (store_helper not found)";
  }
  const helper = stq + 15 + new DataView(head.buffer, head.byteOffset + 11, 4).getInt32(0, true);
  const code = view(helper, SCAN_BYTES);
  const sites = findSites(code, FAILURE_TAIL);
  if (sites.length === 1) {
    const at = sites[0];
    const jmp = at + FAILURE_TAIL.length - 1;
    const padding = code.subarray(jmp + 5, jmp + 5 + PADDING.length);
    if (!padding.every((b, i) => b === PADDING[i])) {
      return "unknown libunicorn build (store fault tail not recognised)";
    }
    const d = new DataView(code.buffer, code.byteOffset + jmp + 1, 4).getInt32(0, true);
    return { at: helper + at, exit: helper + jmp + 5 + d, done: false };
  }
  // Patched earlier in this process: the new tail's first call is where the jump went.
  const start = findSites(code, Uint8Array.of(0x49, 0x8b, 0xbc, 0x24, 0xb8, 0x01, 0x00, 0x00, 0xe8))
    .find((at) => code[at + 31] === 0x0f && code[at + 32] === 0x0b);
  if (start === undefined) return "unknown libunicorn build (store fault tail not recognised)";
  const d = new DataView(code.buffer, code.byteOffset + start + 9, 4).getInt32(0, true);
  return { at: helper + start, exit: helper + start + 13 + d, done: true };
}

/** Returns "" when stores of the loaded libunicorn are no longer followed by exit checks. */
export function skipStoreExitChecks(s: StoreSymbols): string {
  if (Deno.env.get("ELFUSE_UNICORN_TUNING") === "0") return "off (ELFUSE_UNICORN_TUNING=0)";
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return "no patch known for this host's libunicorn";
  }
  const { helper_le_stq_mmu_aarch64: stq, cpu_loop_exit_restore_aarch64: restore } = s;
  const st32 = s.tcg_gen_qemu_st_i32_aarch64, st64 = s.tcg_gen_qemu_st_i64_aarch64;
  if (stq === null || restore === null || st32 === null || st64 === null) {
    return "store_helper's neighbours not exported";
  }
  const tail = findFailureTail(address(stq));
  if (typeof tail === "string") return tail;
  const generators = [st32, st64].map((p) => ({
    base: address(p),
    code: new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, 0x80)),
  }));
  const returned = ({ code }: { code: Uint8Array }) =>
    findSites(code, TAIL.subarray(0, 9)).some((at) =>
      code[at + 9] === RETURN[0] && code[at + 10] === RETURN[1]
    );
  if (tail.done && generators.every(returned)) return "";
  // Both generators must end in the check's tail call (the same target), or nothing changes.
  const targets = generators.map(({ code, base }) => tailTarget(code, base));
  if (targets[0] < 0 || targets[0] !== targets[1]) {
    return "unknown libunicorn build (store exit check not recognised)";
  }
  if (!tail.done) {
    const at = tail.at;
    const bytes = exitingTail(at, tail.exit, address(restore));
    if (bytes.length !== TAIL_BYTES) throw new Error("store_exits: tail length");
    const page = view(at, bytes.length);
    if (!writeCode(page, at, 0, bytes)) return "cannot make libunicorn's code writable";
  }
  for (const { code, base } of generators) {
    const at = findSites(code, TAIL)[0] + TAIL.length - 1;
    if (!writeCode(code, base, at, RETURN)) return "cannot make libunicorn's code writable";
  }
  return "";
}
