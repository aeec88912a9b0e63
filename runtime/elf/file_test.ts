// Big program files are loaded by segments, straight into guest memory: the same program, the same
// errors as when read whole.
import assert from "node:assert/strict";
import { runCli } from "../testing.ts";
import { parseElfFile, readElfFile, WHOLE_READ_MAX } from "./file.ts";
import { EXIT42_CODE, makeElf } from "./testing.ts";

function withFile(bytes: Uint8Array, fn: (path: string) => Promise<void> | void) {
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-file-" });
  const path = `${dir}/prog`;
  Deno.writeFileSync(path, bytes, { mode: 0o755 });
  return (async () => {
    try {
      await fn(path);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  })();
}

/** A program whose one segment spans the whole big file and ends with a marker byte pattern. */
function bigElf(): Uint8Array {
  const size = WHOLE_READ_MAX + 0x10_0000;
  const b = makeElf({
    code: EXIT42_CODE,
    size,
    segs: [{ offset: 0, vaddr: 0x400000, filesz: size, memsz: size, flags: 5 }],
  });
  b.fill(0xa5, size - 4096);
  return b;
}

Deno.test("a big file is read as a prefix, and its segments read into the destination", async () => {
  const bytes = bigElf();
  await withFile(bytes, (path) => {
    const f = readElfFile(path);
    assert.ok(f.read !== undefined, "read by segments");
    assert.ok(f.bytes.length < bytes.length);
    assert.equal(f.size, bytes.length);
    const { elf, file } = parseElfFile(f, path);
    assert.equal(file, f, "the prefix held the headers");
    assert.equal(elf.phdrs[0].filesz, bytes.length);
    const tail = new Uint8Array(8192);
    f.read!(bytes.length - tail.length, tail);
    assert.deepEqual(tail, bytes.subarray(bytes.length - tail.length));
    assert.equal(readElfFile(path, true).read, undefined, "whole when asked");
  });
});

Deno.test("a big program runs, and a big truncated one gives the same error as a small one", async () => {
  const bytes = bigElf();
  await withFile(bytes, async (path) => {
    const r = await runCli(path);
    assert.equal(r.stderr, "");
    assert.equal(r.code, 42);
  });
  // The headers promise more than the file holds: refused before loading, whatever the size.
  const cut = bytes.subarray(0, bytes.length - 4096);
  await withFile(cut, async (path) => {
    const r = await runCli(path);
    assert.equal(r.code, 126);
    assert.match(r.stderr, /segment 0 lies past the end of the file \(truncated\?\)/);
  });
});
