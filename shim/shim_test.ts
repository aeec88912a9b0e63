// The committed shim bytes must be what shim.S assembles to. Where the cross assembler is missing
// (a Mac without binutils), only the committed module's own checksum is verified.
import assert from "node:assert/strict";
import { buildShim, haveAssembler, outputPath } from "./build.ts";
import { shimBytes, shimSha256, shimSymbols } from "./shim_bytes.ts";

Deno.test("shim: committed shim_bytes.ts matches shim.S", async (t) => {
  if (!(await haveAssembler())) {
    t.step({ name: "skipped: aarch64-linux-gnu-as not installed", ignore: true, fn: () => {} });
    return;
  }
  const rebuilt = await buildShim();
  const committed = await Deno.readTextFile(outputPath);
  assert.equal(committed, rebuilt, "run `deno run -A shim/build.ts` and commit shim/shim_bytes.ts");
});

Deno.test("shim: checksum and layout invariants", async () => {
  const d = new Uint8Array(
    await crypto.subtle.digest("SHA-256", shimBytes as Uint8Array<ArrayBuffer>),
  );
  assert.equal(Array.from(d, (b) => b.toString(16).padStart(2, "0")).join(""), shimSha256);
  // VBAR_EL1 needs the table at a 2 KiB boundary; the lower-EL sync vector is at +0x400.
  assert.equal(shimSymbols.vectors, 0);
  assert.equal(shimSymbols.el0_sync, 0x400);
  assert.equal(shimSymbols.FRAME_SIZE % 16, 0, "SP_EL1 must stay 16-byte aligned");
  assert.ok(shimBytes.length <= 0x1000, "the shim fits in one page");
  // The first instruction of the lower-EL sync vector is `sub sp, sp, #FRAME_SIZE`.
  const first = new DataView(shimBytes.buffer).getUint32(0x400, true);
  assert.equal(first, (0xd10003ff | (shimSymbols.FRAME_SIZE << 10)) >>> 0);
});
