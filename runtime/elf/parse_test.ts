import assert from "node:assert/strict";
import { ElfError, EM_AARCH64, EM_X86_64, ET_DYN, ET_EXEC, parseElf, PT_INTERP } from "./parse.ts";
import { makeElf } from "./testing.ts";

function rejects(bytes: Uint8Array, pattern: RegExp, notElf = false): void {
  assert.throws(() => parseElf(bytes), (e: unknown) => {
    assert.ok(e instanceof ElfError);
    assert.match(e.message, pattern);
    assert.equal(e.notElf, notElf);
    return true;
  });
}

Deno.test("a well-formed static aarch64 executable parses", () => {
  const elf = parseElf(makeElf());
  assert.equal(elf.type, ET_EXEC);
  assert.equal(elf.machine, EM_AARCH64);
  assert.equal(elf.entry, 0x400100);
  assert.equal(elf.phnum, 1);
  assert.equal(elf.phdrs[0].memsz, 0x1000);
  assert.equal(elf.interpreter, undefined);
});

Deno.test("PT_INTERP is read as a path", () => {
  const b = makeElf({
    type: ET_DYN,
    segs: [
      { offset: 0, vaddr: 0, filesz: 0x300, memsz: 0x300 },
      { type: PT_INTERP, offset: 0x200, vaddr: 0x200, filesz: 28, memsz: 28 },
    ],
  });
  b.set(new TextEncoder().encode("/lib/ld-linux-aarch64.so.1\0"), 0x200);
  assert.equal(parseElf(b).interpreter, "/lib/ld-linux-aarch64.so.1");
});

Deno.test("non-ELF input is reported as such", () => {
  rejects(new TextEncoder().encode("#!/bin/sh\necho hi\n"), /not an ELF file/, true);
  rejects(new Uint8Array(0), /not an ELF file/, true);
});

Deno.test("truncated and inconsistent headers are rejected", () => {
  rejects(makeElf().subarray(0, 40), /truncated ELF header/);
  rejects(makeElf().subarray(0, 100), /program headers lie past the end/);
  rejects(
    makeElf({ segs: [{ offset: 0, vaddr: 0x400000, filesz: 0x2000, memsz: 0x2000 }] }),
    /past the end of the file/,
  );
  rejects(
    makeElf({ segs: [{ offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x100 }] }),
    /file size larger/,
  );
  rejects(
    makeElf({ segs: [{ offset: 0, vaddr: 0x400010, filesz: 0x200, memsz: 0x200 }] }),
    /page-congruent/,
  );
  rejects(
    makeElf({
      segs: [
        { offset: 0, vaddr: 0x400000, filesz: 0x100, memsz: 0x2000 },
        { offset: 0x100, vaddr: 0x401100, filesz: 0x100, memsz: 0x100 },
      ],
    }),
    /overlap/,
  );
  rejects(
    makeElf({ segs: [{ offset: 0, vaddr: 0x400000, filesz: 0, memsz: 2 ** 41 }] }),
    /absurd size/,
  );
  rejects(makeElf({ type: 1 }), /relocatable object/);
});

Deno.test("the machine is reported for the caller to judge", () => {
  assert.equal(parseElf(makeElf({ machine: EM_X86_64 })).machine, EM_X86_64);
  const b = makeElf();
  b[4] = 1;
  rejects(b, /32-bit ELF/);
});

Deno.test("a bss-only segment (p_filesz 0) may give any p_offset, as Linux's elf_load ignores it", () => {
  const elf = parseElf(makeElf({
    segs: [
      { offset: 0, vaddr: 0x400000, filesz: 0x200, memsz: 0x200, flags: 5 },
      { offset: 0x7fff_0123, vaddr: 0x402000, filesz: 0, memsz: 0x3000, flags: 6 },
    ],
  }));
  assert.equal(elf.phdrs[1].memsz, 0x3000);
});
