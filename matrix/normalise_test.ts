import assert from "node:assert/strict";
import { normalise, normaliserNames, NORMALISERS } from "./normalise.ts";

Deno.test("workdir is always replaced", () => {
  assert.equal(
    normalise("/tmp/w1/a /tmp/w1\n", [], { workdir: "/tmp/w1" }),
    "$WORKDIR/a $WORKDIR\n",
  );
  assert.equal(normalise("/tmp/w2/a\n", [], { workdir: "/tmp/w1" }), "/tmp/w2/a\n");
});

Deno.test("pids", () => {
  assert.equal(
    normalise("pid 123, ppid=45 /proc/678/maps\n", ["pids"]),
    "pid <PID>, ppid=<PID> /proc/<PID>/maps\n",
  );
  assert.equal(normalise("rapid 123\n", ["pids"]), "rapid 123\n");
  assert.equal(normalise("/proc/self/maps\n", ["pids"]), "/proc/self/maps\n");
});

Deno.test("times", () => {
  assert.equal(normalise("at 2026-12-01 20:47:03 ok\n", ["times"]), "at <TIME> ok\n");
  assert.equal(normalise("2026-12-01T20:47:03.123Z\n", ["times"]), "<TIME>\n");
  assert.equal(normalise("Tue Dec  1 20:47:03 UTC 2026\n", ["times"]), "<TIME>\n");
  assert.equal(
    normalise("-rw-r--r-- 1 root root 6 Dec  1 20:47 a\n", ["times"]),
    "-rw-r--r-- 1 root root 6 <TIME> a\n",
  );
  assert.equal(normalise("epoch 1764621000\n", ["times"]), "epoch <TIME>\n");
  // Plain numbers and dates without times stay.
  assert.equal(normalise("42 2001-02-03 123\n", ["times"]), "42 2001-02-03 123\n");
});

Deno.test("durations", () => {
  assert.equal(
    normalise("took 0.012s and 15ms, real 0m1.5s\n", ["durations"]),
    "took <DURATION> and <DURATION>, real <DURATION>\n",
  );
  assert.equal(normalise("3 items\n", ["durations"]), "3 items\n");
});

Deno.test("addresses", () => {
  assert.equal(normalise("p=0x7ffd1234abcd\n", ["addresses"]), "p=<ADDR>\n");
  assert.equal(normalise("00400000-00452000 r-xp\n", ["addresses"]), "<ADDR>-<ADDR> r-xp\n");
  assert.equal(normalise("0x10 and 0xff\n", ["addresses"]), "0x10 and 0xff\n");
});

Deno.test("temp-names", () => {
  assert.equal(
    normalise("./tmp.AbC123 /tmp/xyz.q/f\n", ["temp-names"]),
    "./tmp.<TMP> /tmp/<TMP>/f\n",
  );
  assert.equal(normalise("tmp.txt\n", ["temp-names"]), "tmp.txt\n");
});

Deno.test("sort-lines keeps the final newline and trailing-space trims", () => {
  assert.equal(normalise("b\na\nc\n", ["sort-lines"]), "a\nb\nc\n");
  assert.equal(normalise("b\na", ["sort-lines"]), "a\nb");
  assert.equal(normalise("a  \nb\t\n", ["trailing-space"]), "a\nb\n");
});

Deno.test("normalisers compose in order, and unknown names are refused", () => {
  assert.equal(
    normalise("pid 7 at 0xdeadbeef00\n", ["pids", "addresses"]),
    "pid <PID> at <ADDR>\n",
  );
  // deno-lint-ignore no-explicit-any
  assert.throws(() => normalise("x", ["nope" as any]), /unknown normaliser/);
  assert.deepEqual(normaliserNames.sort(), Object.keys(NORMALISERS).sort());
  for (const n of normaliserNames) assert.ok(NORMALISERS[n].describe.length > 10);
});
