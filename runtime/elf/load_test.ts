// Loading programs as Linux's load_elf_binary does: what runs, and what is refused before any
// memory is touched.
import assert from "node:assert/strict";
import { runCli } from "../testing.ts";
import { AddressSpace } from "../memory/address_space.ts";
import { Slab } from "../memory/slab.ts";
import { loadElf } from "./load.ts";
import { parseElf } from "./parse.ts";
import { EXIT42_CODE, makeElf } from "./testing.ts";
import { ProgramFile } from "../program_file.ts";

/** Writes `bytes` as an executable file in a fresh temporary directory and runs it. */
async function runElf(bytes: Uint8Array) {
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-load-" });
  try {
    Deno.writeFileSync(`${dir}/prog`, bytes, { mode: 0o755 });
    return await runCli(`${dir}/prog`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

Deno.test("a bss-only PT_LOAD whose p_offset lies past the end of the file runs (Linux and qemu do)", async () => {
  const r = await runElf(makeElf({
    code: EXIT42_CODE,
    segs: [
      { offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x200, flags: 5 },
      { offset: 0x10_0000, vaddr: 0x500000, filesz: 0, memsz: 0x2000, flags: 6 },
    ],
  }));
  assert.equal(r.stderr, "");
  assert.equal(r.code, 42);
});

/** An address space that records what the loader asks of it and holds no memory. */
function recordingSpace(): { as: AddressSpace; calls: string[] } {
  const calls: string[] = [];
  const as = {
    size: 64 * 2 ** 30,
    mmapTop: new AddressSpace(new Slab(1 << 20)).mmapTop,
    slab: { u8: new Uint8Array(0x50_0000) },
    mapFixed: (start: number, len: number) => calls.push(`map ${start} ${len}`),
    mprotect: (start: number, len: number) => calls.push(`protect ${start} ${len}`),
  } as unknown as AddressSpace;
  return { as, calls };
}

Deno.test("an image that overlaps the stack or its gap is refused before any mapping", () => {
  const { as, calls } = recordingSpace();
  const top = as.mmapTop;
  const elf = parseElf(makeElf({
    segs: [{ offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: top - 0x400000 + 0x1000 }],
  }));
  assert.throws(() => loadElf(as, elf, new Uint8Array(0), 0, "x"), /does not fit/);
  assert.deepEqual(calls, []);
});

Deno.test("a writable segment larger than the host's RAM and swap is refused, as Linux's overcommit check does", () => {
  const { as, calls } = recordingSpace();
  const segs = (flags: number) => [
    { offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x1000, flags: 5 },
    { offset: 0x1000, vaddr: 0x401000, filesz: 0, memsz: 20 * 2 ** 30, flags },
  ];
  const limits = { commit: 16 * 2 ** 30 };
  const rw = parseElf(makeElf({ segs: segs(6) }));
  assert.throws(() => loadElf(as, rw, new Uint8Array(0), 0, "x", limits), /more memory/);
  assert.deepEqual(calls, []);
  // Linux accounts zero-fill pages whatever their protection (vm_brk_flags).
  const ro = parseElf(makeElf({ segs: segs(4) }));
  assert.throws(() => loadElf(as, ro, new Uint8Array(0), 0, "x", limits), /more memory/);
  const small = parseElf(makeElf({ segs: segs(6) }));
  loadElf(as, small, new Uint8Array(0x1000), 0, "x", { commit: 32 * 2 ** 30 });
  assert.ok(calls.length > 0);
});

Deno.test("a segment near 64 GiB gets one line and exit 126 at once (qemu-user: ENOMEM)", async () => {
  const r = await runElf(makeElf({
    code: EXIT42_CODE,
    segs: [
      { offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x1000, flags: 5 },
      { offset: 0, vaddr: 0x401000, filesz: 0, memsz: 63 * 2 ** 30, flags: 6 },
    ],
  }));
  assert.equal(r.code, 126, r.stderr);
  assert.match(
    r.stderr,
    /^elfuse: .*prog: cannot execute: segment 1 .*(does not fit|more memory)[^\n]*\n$/,
  );
});

Deno.test("segments mapped from the file hold what Linux's elf_map and padzero give: file pages, zeroed tail and bss", () => {
  // Text: 0x2100 file bytes from offset 0; data shares text's last page (0x402000) and runs on;
  // every file byte is non-zero, so a byte that should be zero and is not shows.
  const segs = [
    { offset: 0, vaddr: 0x400000, filesz: 0x2100, memsz: 0x2100, flags: 5 },
    { offset: 0x2100, vaddr: 0x402100, filesz: 0x2345, memsz: 0x6000, flags: 6 },
  ];
  const bytes = makeElf({ segs, size: 0x5000 });
  for (let i = 64 + 2 * 56; i < bytes.length; i++) bytes[i] = (i * 7 + 1) % 255 + 1;
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-load-" });
  try {
    Deno.writeFileSync(`${dir}/prog`, bytes);
    const file = ProgramFile.open(`${dir}/prog`);
    assert.ok(file instanceof ProgramFile);
    const mapped = new AddressSpace(new Slab(1 << 24));
    const elf = parseElf(file);
    try {
      loadElf(mapped, elf, file, 0, "prog");
    } finally {
      file.close();
    }
    const copied = new AddressSpace(new Slab(1 << 24));
    loadElf(copied, parseElf(bytes), bytes, 0, "prog");
    const m = mapped.slab.u8, c = copied.slab.u8;
    // The file's bytes where a segment has them, zero after the data's file end (tail and bss).
    assert.deepEqual(m.subarray(0x400000, 0x402100), bytes.subarray(0, 0x2100));
    assert.deepEqual(m.subarray(0x402100, 0x404445), bytes.subarray(0x2100, 0x4445));
    assert.ok(m.subarray(0x404445, 0x408100).every((b) => b === 0));
    assert.deepEqual(m.subarray(0x400000, 0x408100), c.subarray(0x400000, 0x408100));
    // The whole first page of a mapped segment is the file's, as on Linux.
    assert.ok(mapped.slab.fileRanges(0x400000, 0x409000).length > 0);
    assert.deepEqual(mapped.vmas.list.map((v) => [v.start, v.end, v.prot]), [
      [0x400000, 0x402000, 5],
      [0x402000, 0x403000, 7],
      [0x403000, 0x409000, 3],
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
