import assert from "node:assert/strict";
import { selectCases } from "./corpus.ts";
import { busyboxCases } from "./corpus_busybox.ts";
import { fixtureCase, fixtureCases } from "./corpus_fixtures.ts";
import { normaliserNames } from "./normalise.ts";

const cases = busyboxCases("/bb");

Deno.test("busybox corpus: at least 60 cases, unique names, a quick subset", () => {
  assert.ok(cases.length >= 60, `${cases.length} cases`);
  assert.equal(new Set(cases.map((c) => c.name)).size, cases.length);
  const quick = cases.filter((c) => c.quick);
  assert.ok(quick.length >= 10 && quick.length < cases.length / 2, `${quick.length} quick`);
  for (const c of cases) {
    assert.match(c.name, /^busybox\/[a-z0-9][a-zA-Z0-9-]*$/);
    assert.equal(c.program, "/bb");
    assert.ok(c.steps.length >= 1);
    assert.ok(!c.needsExec);
    if (c.compare?.mode === "normalised") {
      for (const n of c.compare.normalisers) assert.ok(normaliserNames.includes(n));
    }
    if (c.compare?.mode === "regex") new RegExp(c.compare.pattern, c.compare.flags);
  }
});

Deno.test("busybox corpus: covers the applets the issue names, and no shell", () => {
  const applets = new Set(cases.flatMap((c) => c.steps.map((s) => s.args[0])));
  const wanted = (
    "ls cp mv rm ln mkdir touch stat find du cat head tail sort uniq wc cut tr sed awk grep od xxd " +
    "base64 md5sum sha1sum sha256sum sha512sum gzip gunzip bzip2 tar expr seq printf bc dc factor " +
    "basename dirname env uname id true false date"
  ).split(" ");
  for (const a of wanted) assert.ok(applets.has(a), `no case runs ${a}`);
  for (const a of ["sh", "ash", "xargs", "time", "timeout", "nohup"]) assert.ok(!applets.has(a), a);
  for (const c of cases.filter((c) => c.steps.some((s) => s.args[0] === "find"))) {
    assert.ok(!c.steps.some((s) => s.args.includes("-exec")), `${c.name} would fork`);
  }
});

Deno.test("busybox corpus: inputs from bytes to several MiB, generated the same each time", () => {
  const sizes = cases.flatMap((c) =>
    (c.files ?? []).map((f) =>
      typeof f.content === "function" ? f.content().length : f.content?.length ?? 0
    )
  );
  assert.ok(Math.min(...sizes.filter((s) => s > 0)) < 16);
  assert.ok(Math.max(...sizes) >= 4 * 1024 * 1024);
  const again = busyboxCases("/bb");
  const a = cases.find((c) => c.name === "busybox/sort")!.files![0].content as () => Uint8Array;
  const b = again.find((c) => c.name === "busybox/sort")!.files![0].content as () => Uint8Array;
  assert.deepEqual(a(), b());
});

Deno.test("selectCases: --filter and --quick", () => {
  assert.deepEqual(selectCases(cases, { filter: /^busybox\/sort-n$/ }).map((c) => c.name), [
    "busybox/sort-n",
  ]);
  assert.ok(selectCases(cases, { quick: true }).every((c) => c.quick));
  assert.equal(selectCases(cases, {}).length, cases.length);
});

Deno.test("fixtureCase: self-check and exact expectations", () => {
  const s = fixtureCase({ name: "threads", expect: { kind: "self-check" }, timeout: 20 }, "/b");
  assert.equal(s.name, "fixture/threads");
  assert.equal(s.program, "/b/threads");
  assert.deepEqual(s.compare, { mode: "self-check" });
  assert.equal(s.quick, false);
  const e = fixtureCase({
    name: "segv",
    args: ["x"],
    stdin: "in",
    expect: { kind: "exact", exit: 139, signal: "SIGSEGV" },
    needsExec: true,
  }, "/b");
  assert.deepEqual(e.compare, { mode: "exact" });
  assert.deepEqual(e.expect, { exit: 139, signal: "SIGSEGV", stdout: undefined });
  assert.deepEqual(e.steps, [{ args: ["x"], stdin: "in" }]);
  assert.equal(e.needsExec, true);
  assert.equal(e.quick, true);
  const n = fixtureCase({
    name: "pid",
    expect: { kind: "exact", exit: 0 },
    normalise: ["pids", "bogus"],
  }, "/b");
  assert.deepEqual(n.compare, { mode: "normalised", normalisers: ["pids"] });
});

Deno.test("fixtureCases: no catalog, no array yet, not built", async () => {
  // A fresh repository per phase: a module, once imported, stays cached.
  const repos: string[] = [];
  const repoWith = async (catalog?: string, built: string[] = []) => {
    const repo = await Deno.makeTempDir();
    repos.push(repo);
    if (catalog !== undefined) {
      await Deno.mkdir(`${repo}/fixtures`);
      await Deno.writeTextFile(`${repo}/fixtures/catalog.ts`, catalog);
    }
    if (built.length) await Deno.mkdir(`${repo}/fixtures/build`);
    for (const b of built) await Deno.writeTextFile(`${repo}/fixtures/build/${b}`, "");
    return repo;
  };
  try {
    assert.match((await fixtureCases(await repoWith())).notes[0], /not found/);
    const none = await fixtureCases(await repoWith("export const other = 1;\n"));
    assert.deepEqual(none.cases, []);
    assert.match(none.notes[0], /no `fixtures` array yet/);
    const catalog =
      'export const fixtures = [{ name: "hello", expect: { kind: "exact", exit: 0, stdout: "hi\\n" } }, ' +
      '{ name: "built", expect: { kind: "self-check" } }];\n';
    const unbuilt = await fixtureCases(await repoWith(catalog));
    assert.equal(unbuilt.cases.length, 2);
    assert.match(unbuilt.cases[0].skip!, /run `deno task fixtures`/);
    assert.deepEqual(unbuilt.cases[0].expect, { exit: 0, signal: undefined, stdout: "hi\n" });
    assert.ok(
      unbuilt.notes.some((n) => /fixtures\/build\/ is missing: run `deno task fixtures`/.test(n)),
    );
    const partly = await fixtureCases(await repoWith(catalog, ["built"]));
    assert.match(partly.cases[0].skip!, /fixtures\/build\/hello not built/);
    assert.equal(partly.cases[1].skip, undefined);
    const broken = await fixtureCases(await repoWith("export const fixtures = [;\n"));
    assert.deepEqual(broken.cases, []);
    assert.match(broken.notes[0], /could not be loaded/);
  } finally {
    for (const r of repos) await Deno.remove(r, { recursive: true });
  }
});
