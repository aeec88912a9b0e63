// The ELF mutator: a seeded recipe of one to three edits per mutant (header fields, program
// header fields, PT_INTERP's text, bit flips, truncation, appended bytes), applied to a valid
// aarch64 program. A recipe is a pure function of (seed, index, base), and any subset of its
// edits can be applied alone, which is how a failure is minimised.

/** A program to mutate and how elfuse runs it. */
export interface ElfBase {
  name: string;
  bytes: Uint8Array;
  /** --sysroot for a dynamic base (its PT_INTERP is looked up there). */
  sysroot?: string;
}

export type Field =
  | "e_type"
  | "e_machine"
  | "e_entry"
  | "e_phoff"
  | "e_phentsize"
  | "e_phnum"
  | "ei_class"
  | "ei_data"
  | "p_type"
  | "p_flags"
  | "p_offset"
  | "p_vaddr"
  | "p_filesz"
  | "p_memsz"
  | "p_align";

export type Edit =
  | { op: "set"; field: Field; ph?: number; value: bigint }
  | { op: "flip"; at: number; xor: number }
  | { op: "truncate"; length: number }
  | { op: "append"; length: number; byte: number }
  | { op: "interp"; text: string };

/** Where each field lives: [offset in the ELF header or a program header, size in bytes]. */
const HEADER: Record<string, [number, number]> = {
  e_type: [16, 2],
  e_machine: [18, 2],
  e_entry: [24, 8],
  e_phoff: [32, 8],
  e_phentsize: [54, 2],
  e_phnum: [56, 2],
  ei_class: [4, 1],
  ei_data: [5, 1],
};
const PHDR: Record<string, [number, number]> = {
  p_type: [0, 4],
  p_flags: [4, 4],
  p_offset: [8, 8],
  p_vaddr: [16, 8],
  p_filesz: [32, 8],
  p_memsz: [40, 8],
  p_align: [48, 8],
};

const GIB = 1n << 30n;
const EXTREMES: bigint[] = [
  0n,
  1n,
  0xffffffffn,
  0x100000000n,
  0x7fffffffffffffffn,
  0x8000000000000000n,
  0xffffffffffffffffn,
  1n << 53n,
  (1n << 53n) + 1n,
  1n << 48n,
  16n * GIB,
  63n * GIB,
  64n * GIB,
  64n * GIB - 0x1000n,
  0xffffffffff000n,
];

/** PT_INTERP texts: devices, FIFOs, control characters, relative, huge, and the real one. */
export const INTERP_TEXTS = [
  "/dev/zero",
  "/dev/urandom",
  "/dev/stdin",
  "/proc/self/fd/0",
  "/lib/ld\nsecond line",
  "\x1b[2J\x1b[H",
  "",
  "/",
  "ld-linux-aarch64.so.1",
  "/proc/self/exe",
  "/nonexistent/ld.so",
  "./fifo", // the driver makes a FIFO by this name in the run's directory
  "/lib/ld-linux-aarch64.so.1",
  "/x".repeat(2100),
];

const PT_INTERP = 3;

/** splitmix64, as the syscall fuzzer's guest uses. */
export class Rng {
  #s: bigint;
  constructor(...seeds: number[]) {
    let s = 0x853c49e6748fea9bn;
    for (const x of seeds) s = BigInt.asUintN(64, (s ^ BigInt(x)) * 0x100000001b3n);
    this.#s = s;
  }
  next(): bigint {
    this.#s = BigInt.asUintN(64, this.#s + 0x9e3779b97f4a7c15n);
    let z = this.#s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
  below(n: number): number {
    return n <= 0 ? 0 : Number(this.next() % BigInt(n));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)];
  }
}

function readField(b: Uint8Array, field: Field, ph = 0): bigint {
  const [off, size] = fieldAt(b, field, ph);
  if (off + size > b.length) return 0n;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return size === 1
    ? BigInt(v.getUint8(off))
    : size === 2
    ? BigInt(v.getUint16(off, true))
    : size === 4
    ? BigInt(v.getUint32(off, true))
    : v.getBigUint64(off, true);
}

function fieldAt(b: Uint8Array, field: Field, ph: number): [number, number] {
  if (field in HEADER) return HEADER[field];
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const phoff = b.length >= 64 ? Number(v.getBigUint64(32, true) & 0xffffffn) : 64;
  const [off, size] = PHDR[field];
  return [phoff + ph * 56 + off, size];
}

function phnum(b: Uint8Array): number {
  return b.length >= 58 ? new DataView(b.buffer, b.byteOffset).getUint16(56, true) : 0;
}

/** A value for `field`: an extreme, the original nudged, or the original with a bit flipped. */
function valueFor(rng: Rng, original: bigint, field: Field, fileSize: number): bigint {
  const mask = (1n << BigInt(8 * ((HEADER[field] ?? PHDR[field])[1]))) - 1n;
  let v: bigint;
  switch (rng.below(6)) {
    case 0:
    case 1:
      v = rng.pick(EXTREMES);
      break;
    case 2:
      v = original + BigInt(rng.pick([-4096, -1, 1, 8, 4096, 0x10000]));
      break;
    case 3:
      v = original ^ (1n << BigInt(rng.below(64)));
      break;
    case 4:
      v = BigInt(fileSize + rng.pick([-1, 0, 1, 4096]));
      break;
    default:
      v = field === "p_type"
        ? BigInt(rng.pick([0, 1, 2, 3, 4, 6, 7, 0x6474e551, 0x6474e552]))
        : rng.next();
  }
  return BigInt.asUintN(64, v) & mask;
}

/** The recipe of mutant `index` of `base` for `seed`: one to three edits. */
export function recipe(seed: number, index: number, base: ElfBase): Edit[] {
  const rng = new Rng(seed, index, base.bytes.length);
  const edits: Edit[] = [];
  const count = 1 + rng.below(3);
  const n = Math.max(phnum(base.bytes), 1);
  for (let i = 0; i < count; i++) {
    const r = rng.below(20);
    if (r < 4) {
      const field = rng.pick(Object.keys(HEADER)) as Field;
      edits.push({
        op: "set",
        field,
        value: valueFor(rng, readField(base.bytes, field), field, base.bytes.length),
      });
    } else if (r < 12) {
      const field = rng.pick(Object.keys(PHDR)) as Field;
      const ph = rng.below(n);
      const value = valueFor(rng, readField(base.bytes, field, ph), field, base.bytes.length);
      edits.push({ op: "set", field, ph, value });
    } else if (r < 14) {
      edits.push({ op: "interp", text: rng.pick(INTERP_TEXTS) });
    } else if (r < 16) {
      // Mostly the headers: that is where a loader decides.
      const limit = rng.below(4) === 0
        ? base.bytes.length
        : Math.min(base.bytes.length, 64 + n * 56);
      edits.push({ op: "flip", at: rng.below(limit), xor: 1 << rng.below(8) });
    } else if (r < 18) {
      const cut = rng.below(3) === 0 ? rng.below(64 + n * 56 + 16) : rng.below(base.bytes.length);
      edits.push({ op: "truncate", length: cut });
    } else {
      edits.push({ op: "append", length: rng.pick([1, 7, 4096, 65536]), byte: rng.below(256) });
    }
  }
  return edits;
}

/** The base with `edits` applied, in order. */
export function apply(base: Uint8Array, edits: readonly Edit[]): Uint8Array {
  let b: Uint8Array = base.slice();
  for (const e of edits) {
    switch (e.op) {
      case "set": {
        const [off, size] = fieldAt(b, e.field, e.ph ?? 0);
        if (off + size > b.length) break;
        const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
        if (size === 1) v.setUint8(off, Number(e.value & 0xffn));
        else if (size === 2) v.setUint16(off, Number(e.value & 0xffffn), true);
        else if (size === 4) v.setUint32(off, Number(e.value & 0xffffffffn), true);
        else v.setBigUint64(off, e.value, true);
        break;
      }
      case "flip":
        if (e.at < b.length) b[e.at] ^= e.xor;
        break;
      case "truncate":
        b = b.slice(0, e.length);
        break;
      case "append": {
        const grown = new Uint8Array(b.length + e.length).fill(e.byte);
        grown.set(b);
        b = grown;
        break;
      }
      case "interp":
        b = withInterp(b, e.text);
        break;
    }
  }
  return b;
}

/**
 * Points PT_INTERP (or, without one, the first header that is neither PT_LOAD nor PT_PHDR) at
 * `text` appended to the file.
 */
function withInterp(b: Uint8Array, text: string): Uint8Array {
  const n = phnum(b);
  const str = new TextEncoder().encode(`${text}\0`);
  const out = new Uint8Array(b.length + str.length);
  out.set(b);
  out.set(str, b.length);
  let target = -1;
  for (let i = 0; i < n; i++) if (readField(out, "p_type", i) === BigInt(PT_INTERP)) target = i;
  for (let i = 0; i < n && target < 0; i++) {
    const t = readField(out, "p_type", i);
    if (t !== 1n && t !== 6n) target = i;
  }
  if (target < 0) return b;
  const set = (field: Field, value: number) => {
    const [off, size] = fieldAt(out, field, target);
    if (off + size > out.length) return;
    const v = new DataView(out.buffer);
    if (size === 4) v.setUint32(off, value, true);
    else v.setBigUint64(off, BigInt(value), true);
  };
  set("p_type", PT_INTERP);
  set("p_offset", b.length);
  set("p_filesz", str.length);
  set("p_memsz", str.length);
  return out;
}

/** One line per recipe, for reports: `ph[1].p_memsz=0xf00000000; truncate 4000`. */
export function describeRecipe(edits: readonly Edit[]): string {
  return edits.map((e) => {
    switch (e.op) {
      case "set":
        return `${e.ph === undefined ? "" : `ph[${e.ph}].`}${e.field}=0x${e.value.toString(16)}`;
      case "flip":
        return `flip byte ${e.at} ^0x${e.xor.toString(16)}`;
      case "truncate":
        return `truncate to ${e.length}`;
      case "append":
        return `append ${e.length} x 0x${e.byte.toString(16)}`;
      case "interp":
        return `PT_INTERP ${
          JSON.stringify(e.text.length > 40 ? `${e.text.slice(0, 40)}...` : e.text)
        }`;
    }
  }).join("; ");
}
