// Test helper: minimal ELF64 files built in memory.
import { EM_AARCH64, ET_EXEC, PT_LOAD } from "./parse.ts";

export interface Seg {
  type?: number;
  offset: number;
  vaddr: number;
  filesz: number;
  memsz: number;
  flags?: number;
}

/** aarch64 code that ends the program with exit status 42 (movz x0, #42; movz x8, #93; svc #0). */
export const EXIT42_CODE = new Uint8Array(
  new Uint32Array([0xd2800540, 0xd2800ba8, 0xd4000001]).buffer,
);

/**
 * A minimal ELF64 file: header, program headers, then `size` bytes in total. With `code`, those
 * bytes are placed at file offset 0x100, where the default segment puts the default entry.
 */
export function makeElf(
  opts: {
    machine?: number;
    type?: number;
    segs?: Seg[];
    size?: number;
    entry?: number;
    code?: Uint8Array;
  } = {},
): Uint8Array {
  const segs = opts.segs ??
    [{ offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x1000, flags: 5 }];
  const size = opts.size ?? 0x1000;
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, opts.type ?? ET_EXEC, true);
  v.setUint16(18, opts.machine ?? EM_AARCH64, true);
  v.setUint32(20, 1, true);
  v.setBigUint64(24, BigInt(opts.entry ?? 0x400100), true);
  v.setBigUint64(32, 64n, true);
  v.setUint16(52, 64, true);
  v.setUint16(54, 56, true);
  v.setUint16(56, segs.length, true);
  segs.forEach((s, i) => {
    const o = 64 + i * 56;
    v.setUint32(o, s.type ?? PT_LOAD, true);
    v.setUint32(o + 4, s.flags ?? 4, true);
    v.setBigUint64(o + 8, BigInt(s.offset), true);
    v.setBigUint64(o + 16, BigInt(s.vaddr), true);
    v.setBigUint64(o + 24, BigInt(s.vaddr), true);
    v.setBigUint64(o + 32, BigInt(s.filesz), true);
    v.setBigUint64(o + 40, BigInt(s.memsz), true);
    v.setBigUint64(o + 48, 0x1000n, true);
  });
  if (opts.code) b.set(opts.code, 0x100);
  return b;
}
