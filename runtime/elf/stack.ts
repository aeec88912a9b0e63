// The initial process stack Linux builds for a new program (fs/binfmt_elf.c create_elf_tables):
// from the top, the execfn and environment/argument strings, the platform string and AT_RANDOM
// bytes, then (16-byte aligned) argc, argv[], NULL, envp[], NULL and the auxv pairs.

export const AT = {
  NULL: 0,
  /** The fd of the program an interpreter runs (binfmt_misc's O and C flags). */
  EXECFD: 2,
  PHDR: 3,
  PHENT: 4,
  PHNUM: 5,
  PAGESZ: 6,
  BASE: 7,
  FLAGS: 8,
  ENTRY: 9,
  UID: 11,
  EUID: 12,
  GID: 13,
  EGID: 14,
  PLATFORM: 15,
  HWCAP: 16,
  CLKTCK: 17,
  SECURE: 23,
  RANDOM: 25,
  HWCAP2: 26,
  EXECFN: 31,
  SYSINFO_EHDR: 33,
  MINSIGSTKSZ: 51,
} as const;

export interface StackSpec {
  argv: string[];
  envp: string[];
  execfn: string;
  /** auxv entries except AT_RANDOM, AT_PLATFORM, AT_EXECFN and AT_NULL, which are added here. */
  auxv: [number, number][];
  random: Uint8Array;
}

export interface BuiltStack {
  sp: number;
  /** Guest address of each auxv value, keyed by type, for tests and /proc/self/auxv. */
  auxvAddress: number;
  auxvLength: number;
}

/** Writes the stack below `top` into `mem` (guest address = index) and returns the initial SP. */
export function buildStack(
  mem: Uint8Array,
  view: DataView,
  top: number,
  spec: StackSpec,
): BuiltStack {
  const enc = new TextEncoder();
  let p = top - 8; // Linux leaves a NULL word at the very top
  view.setBigUint64(p, 0n, true);
  const putString = (s: string): number => {
    const bytes = enc.encode(s);
    p -= bytes.length + 1;
    mem.set(bytes, p);
    mem[p + bytes.length] = 0;
    return p;
  };
  const execfn = putString(spec.execfn);
  // Written from the end so that the strings lie in ascending order, as Linux lays them out.
  const envPtrs: number[] = [];
  for (let i = spec.envp.length - 1; i >= 0; i--) envPtrs[i] = putString(spec.envp[i]);
  const argPtrs: number[] = [];
  for (let i = spec.argv.length - 1; i >= 0; i--) argPtrs[i] = putString(spec.argv[i]);
  const platform = putString("aarch64");
  p -= 16;
  p -= p % 16;
  const random = p;
  mem.set(spec.random.subarray(0, 16), random);
  const auxv: [number, number][] = [
    ...spec.auxv,
    [AT.PLATFORM, platform],
    [AT.RANDOM, random],
    [AT.EXECFN, execfn],
    [AT.NULL, 0],
  ];
  const words = 1 + argPtrs.length + 1 + envPtrs.length + 1 + auxv.length * 2;
  let sp = p - words * 8;
  sp -= sp % 16;
  let w = sp;
  const put = (v: number) => {
    view.setBigUint64(w, BigInt(v), true);
    w += 8;
  };
  put(argPtrs.length);
  for (const a of argPtrs) put(a);
  put(0);
  for (const e of envPtrs) put(e);
  put(0);
  const auxvAddress = w;
  for (const [k, v] of auxv) {
    put(k);
    put(v);
  }
  return { sp, auxvAddress, auxvLength: auxv.length * 16 };
}
