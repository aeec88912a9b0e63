// A guest that truncates a file under its own shared mapping and touches the pages past the new
// end: the host pages there would raise a host SIGBUS in the elfuse process (address_space.ts
// fileShrank); the guest gets SIGBUS (BUS_ADRERR, 702) in its handler and goes on.
import assert from "node:assert/strict";
import { runCliWith } from "../testing.ts";

const fixture = new URL("../../fixtures/build/mmap_edges", import.meta.url).pathname;

Deno.test("a file shrunk under a shared mapping does not kill elfuse", async () => {
  const r = await runCliWith({}, fixture, "shrink");
  assert.match(r.stdout, /\nsurvived\n/, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.match(r.stdout, /write 702, read 702/);
  assert.equal(r.code, 0);
});
