import assert from "node:assert/strict";
import { fixtureCase } from "./corpus_fixtures.ts";
import { SYSROOT_PACKAGES, sysrootCases } from "./corpus_sysroot.ts";

Deno.test("sysroot corpus: every program the issue names, with the sysroot, quick subset small", () => {
  const cases = sysrootCases("/sr", true);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  const programs = new Set(cases.map((c) => c.program.split("/").pop()));
  for (
    const p of "bash ls sort date sha256sum du stat seq numfmt sqlite3 lua5.4 gawk sed grep jq file"
      .split(" ")
  ) {
    assert.ok(programs.has(p), `no case runs ${p}`);
  }
  assert.ok(programs.has("python3.11"));
  for (const c of cases) {
    assert.equal(c.sysroot, "/sr");
    assert.ok(c.program.startsWith("/sr/usr/bin/"), c.program);
    assert.equal(c.skip, undefined);
  }
  const quick = cases.filter((c) => c.quick);
  assert.ok(quick.length >= 3 && quick.length <= cases.length / 2, `${quick.length} quick`);
  assert.ok(SYSROOT_PACKAGES.includes("tzdata"), "date with TZ needs zoneinfo");
  assert.ok(sysrootCases("/sr", false).every((c) => c.skip?.includes("tools/setup.sh")));
});

Deno.test("fixture cases: a catalog sysroot name becomes its directory", () => {
  const c = fixtureCase({ name: "dyn", sysroot: "cross" }, "/b", {
    cross: "/usr/aarch64-linux-gnu",
  });
  assert.equal(c.sysroot, "/usr/aarch64-linux-gnu");
  assert.equal(fixtureCase({ name: "static" }, "/b").sysroot, undefined);
});
