import assert from "node:assert/strict";
import { hostErrno, libc } from "./libc.ts";

Deno.test("a narrow integer parameter takes any Number as C converts it, never a TypeError", () => {
  // getpriority's who is an id_t (u32): -1 is 0xffffffff, no process group (ESRCH), as in C.
  assert.equal(libc.getpriority(1, -1), -1);
  assert.equal(hostErrno(), 3 /* ESRCH */);
  // Modulo 2^32 and NaN as 0: which = 2^32 is PRIO_PROCESS (0), who NaN is 0 (this process).
  const own = libc.getpriority(0, 0);
  assert.equal(libc.getpriority(2 ** 32, NaN), own);
  assert.equal(libc.getpriority(-(2 ** 32), 2 ** 40), own);
});
