// Thread creation past its limits and with flags Linux refuses: EINVAL and EAGAIN, never a crash
// (fixtures/c/thread_limits.c; not in the matrix, the limits being elfuse's own).
import assert from "node:assert/strict";
import { runCliWith } from "../testing.ts";

const fixture = (name: string) => new URL(`../../fixtures/build/${name}`, import.meta.url).pathname;

Deno.test("threads: bad clone flags and the thread limit give errors, not a crash", async () => {
  const r = await runCliWith({}, fixture("thread_limits"));
  assert.match(r.stdout, /\n\d+ passed, 0 failed\n$/, r.stdout);
  assert.equal(r.code, 0);
});
