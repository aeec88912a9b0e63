// qXfer:libraries-svr4:read: the dynamic loader's list of loaded objects, read from guest memory
// the way gdb's own svr4 support would (glibc <link.h>): the program's PT_DYNAMIC (found through
// AT_PHDR/AT_PHNUM in the auxiliary vector) holds DT_DEBUG, which ld.so points at its r_debug
// { int r_version; struct link_map *r_map @8; ... }; each link_map is { l_addr @0, l_name @8,
// l_ld @16, l_next @24, l_prev @32 }. The first entry is the program itself.
import type { Process } from "../kernel/process.ts";

const AT_PHDR = 3,
  AT_PHNUM = 5,
  AT_BASE = 7,
  PT_DYNAMIC = 2,
  PT_PHDR = 6,
  DT_NULL = 0,
  DT_DEBUG = 21;
/** Enough for any real program; a corrupt list must not loop forever. */
const MAX_OBJECTS = 4096;

function hex(n: number): string {
  return "0x" + n.toString(16);
}

/** The value of auxiliary vector entry `type`, or 0. */
function auxv(proc: Process, type: number): number {
  const { auxvAddress, auxvLength } = proc.info;
  if (auxvAddress === undefined || auxvLength === undefined) return 0;
  for (let a = auxvAddress; a < auxvAddress + auxvLength; a += 16) {
    if (proc.readU64(a) === type) return proc.readU64(a + 8);
  }
  return 0;
}

/** Whether the program came with a dynamic loader (AT_BASE is where it was loaded; 0 without). */
export function hasLoader(proc: Process): boolean {
  return auxv(proc, AT_BASE) !== 0;
}

/** The r_debug address ld.so published, or 0 (static program, or ld.so not that far yet). */
function rDebug(proc: Process): number {
  const phdr = auxv(proc, AT_PHDR), phnum = auxv(proc, AT_PHNUM);
  if (phdr === 0 || !proc.canRead(phdr, phnum * 56)) return 0;
  let bias = 0, dynamic = 0;
  for (let i = 0; i < phnum; i++) {
    const p = phdr + i * 56; // Elf64_Phdr: p_type @0, p_vaddr @16
    const type = proc.view.getUint32(p, true);
    if (type === PT_PHDR) bias = phdr - proc.readU64(p + 16);
    else if (type === PT_DYNAMIC) dynamic = proc.readU64(p + 16);
  }
  if (dynamic === 0) return 0;
  for (let d = dynamic + bias; proc.canRead(d, 16); d += 16) {
    const tag = proc.readU64(d);
    if (tag === DT_NULL) break;
    if (tag === DT_DEBUG) return proc.readU64(d + 8);
  }
  return 0;
}

/** The <library-list-svr4> document for the process's current link map. */
export function librariesSvr4(proc: Process): string {
  const debug = rDebug(proc);
  if (debug === 0 || !proc.canRead(debug, 16)) return `<library-list-svr4 version="1.0"/>`;
  let lm = proc.readU64(debug + 8);
  const main = lm;
  let out = "";
  for (let i = 0; lm !== 0 && i < MAX_OBJECTS && proc.canRead(lm, 40); i++) {
    const name = lm === main ? "" : proc.string(proc.readU64(lm + 8));
    if (typeof name === "string" && name !== "") {
      const esc = name.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/"/g, "&quot;");
      out += `<library name="${esc}" lm="${hex(lm)}" l_addr="${hex(proc.readU64(lm))}" ` +
        `l_ld="${hex(proc.readU64(lm + 16))}" lmid="0x0"/>`;
    }
    lm = proc.readU64(lm + 24);
  }
  return `<library-list-svr4 version="1.0" main-lm="${hex(main)}">${out}</library-list-svr4>`;
}
