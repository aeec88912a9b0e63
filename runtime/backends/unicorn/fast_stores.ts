// Fast guest stores on libunicorn 2.1.4 (x86-64 builds): one instruction of the loaded library is
// patched in memory, never on disk.
//
// Why: Unicorn stubs QEMU's dirty-memory bitmaps, so cpu_physical_memory_is_clean() is constant
// true (qemu/include/exec/ram_addr.h). tlb_set_page_with_attrs() therefore marks every writable
// RAM page TLB_NOTDIRTY, and every guest store leaves the inline fast path for store_helper() and
// notdirty_write(): measured 35-40 ns a store here against 3 ns under qemu-user. Upstream fixed it
// in unicorn PR #2337 ("set TLB_NOTDIRTY flag only for executable pages", 2026), in no release yet.
//
// What: the `or $TLB_NOTDIRTY, %r15` in tlb_set_page_with_attrs_aarch64 becomes a 7-byte nop. The
// read-only case (TLB_DISCARD_WRITE, chosen by the cmov after it) is untouched, so writes to
// read-only guest pages still fault. What NOTDIRTY also gave was self-modifying-code detection;
// AArch64 does not promise that either: software that writes instructions must issue IC IVAU
// before running them (Arm ARM, "Concurrent modification and execution of instructions"; Linux
// does it in __clear_cache), and the backend then drops the translations of that line
// (UC_HOOK_INSN on SYS). The CPU's CTR_EL0 reports DIC=0, so guests do issue it.
//
// The patch is applied only when the surrounding machine code matches byte for byte, once.
// ELFUSE_UNICORN_TUNING=0 leaves the library alone.
import { findSites, writeCode } from "./code_patch.ts";

/** The bytes around the NOTDIRTY `or` in Debian's libunicorn2t64 2.1.4-4 (amd64). */
export const STORE_SITE = Uint8Array.from([
  [0x4c, 0x89, 0xe8], // mov %r13, %rax
  [0x49, 0x81, 0xcf, 0x00, 0x01, 0x00, 0x00], // or $0x100, %r15 (TLB_NOTDIRTY)
  [0x48, 0x83, 0xc8, 0x10], // or $0x10, %rax (TLB_DISCARD_WRITE)
  [0x80, 0x7e, 0x30, 0x00], // cmpb $0, 0x30(%rsi) (section->readonly)
  [0x4c, 0x0f, 0x45, 0xf8], // cmovne %rax, %r15
].flat());
const OR_OFFSET = 3;
const NOP7 = Uint8Array.of(0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00);
/** The site once patched: an engine opened earlier in this process already did it. */
export const PATCHED_SITE = STORE_SITE.slice();
PATCHED_SITE.set(NOP7, OR_OFFSET);
/** How far into the function the site may be (it is at +0x41c in 2.1.4-4). */
const SCAN_BYTES = 0x800;

/**
 * Returns "" when the stores of the loaded libunicorn are now fast, else why not. `fn` is its
 * tlb_set_page_with_attrs_aarch64 (null when not exported). Call it before the first uc_open: TLB
 * entries filled earlier keep their NOTDIRTY flag.
 */
export function enableFastStores(fn: Deno.PointerValue): string {
  if (Deno.env.get("ELFUSE_UNICORN_TUNING") === "0") {
    return "off (ELFUSE_UNICORN_TUNING=0)";
  }
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return "no patch known for this host's libunicorn";
  }
  if (fn === null) return "tlb_set_page_with_attrs_aarch64 not exported";
  const code = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(fn, SCAN_BYTES));
  const hits = findSites(code, STORE_SITE);
  if (hits.length === 0 && findSites(code, PATCHED_SITE).length === 1) return "";
  if (hits.length !== 1) return "unknown libunicorn build (store path not recognised)";
  const base = Number(Deno.UnsafePointer.value(fn));
  if (!writeCode(code, base, hits[0] + OR_OFFSET, NOP7)) {
    return "cannot make libunicorn's code writable";
  }
  return "";
}
