// Loading programs as Linux's load_elf_binary does: what runs, and what is refused before any
// memory is touched.
import assert from "node:assert/strict";
import { runCli } from "../testing.ts";
import { EXIT42_CODE, makeElf } from "./testing.ts";

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
