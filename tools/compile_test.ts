import assert from "node:assert/strict";
import { codesignArgs, compileArgs, denortProblem, helloElf, smokeProblem } from "./compile.ts";
import { runCli } from "../runtime/testing.ts";

Deno.test("deno compile includes every lazily loaded module and the watchdog worker", () => {
  const args = compileArgs("/tmp/elfuse", "aarch64-apple-darwin");
  const includes = args.flatMap((a, i) => (args[i - 1] === "--include" ? [a] : []));
  for (const inc of includes) assert.ok(Deno.statSync(inc).isFile, `${inc} exists`);
  // Every dynamic import in the runtime must be among the includes.
  const dynamic = new Set<string>();
  for (
    const f of [
      "cli.ts",
      "runtime/run.ts",
      "runtime/backends/select.ts",
      "runtime/host/signal_router.ts",
      "runtime/gdb/stub.ts",
    ]
  ) {
    const text = Deno.readTextFileSync(new URL(`../${f}`, import.meta.url));
    for (
      const m of text.matchAll(/import\("([^"]+)"\)|new URL\("([^"]+\.ts)", import\.meta\.url\)/g)
    ) {
      dynamic.add(new URL(m[1] ?? m[2], new URL(`../${f}`, import.meta.url)).pathname);
    }
  }
  assert.ok(dynamic.size >= 4);
  for (const d of dynamic) {
    assert.ok(includes.includes(d), `${d} is loaded lazily but not --include'd`);
  }
  assert.deepEqual(args.slice(args.indexOf("--target"), args.indexOf("--target") + 2), [
    "--target",
    "aarch64-apple-darwin",
  ]);
});

Deno.test("signing uses the committed entitlements, which grant the hypervisor", () => {
  const args = codesignArgs("/tmp/elfuse");
  const plist = Deno.readTextFileSync(args[args.indexOf("--entitlements") + 1]);
  assert.match(plist, /<key>com\.apple\.security\.hypervisor<\/key>\s*<true\/>/);
  assert.equal(args.at(-1), "/tmp/elfuse");
});

const root = new URL("../", import.meta.url).pathname;
const plainDeno = Deno.realPathSync(Deno.execPath());

Deno.test("compile: DENORT_BIN naming the deno CLI is refused before building", async () => {
  assert.match((await denortProblem(plainDeno))!, /is the deno CLI, not denort/);
  assert.match((await denortProblem("/nonexistent/denort"))!, /no such file/);
  assert.equal(await denortProblem(undefined), undefined);
  // The task itself: one line, exit status 1, nothing written, no "wrote".
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-compile-" });
  try {
    const r = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", `${root}tools/compile.ts`, "--output", `${dir}/elfuse`],
      env: { DENORT_BIN: plainDeno, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const out = new TextDecoder().decode(r.stdout), err = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 1);
    assert.equal(out, "");
    assert.match(err, /^compile: DENORT_BIN=.* is the deno CLI, not denort[^\n]*\n$/);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("compile: the smoke test passes a working elfuse and fails plain deno", async () => {
  // What a DENORT_BIN mix-up produces: plain deno, which prints Deno's version.
  assert.match((await smokeProblem(plainDeno))!, /--version printed 'deno \d/);
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-smoke-test-" });
  try {
    // A working elfuse: the command line from source.
    const good = `${dir}/elfuse`;
    Deno.writeTextFileSync(good, `#!/bin/sh\nexec '${plainDeno}' run -A '${root}cli.ts' "$@"\n`);
    Deno.chmodSync(good, 0o755);
    assert.equal(await smokeProblem(good), undefined);
    // One that knows its version but cannot run a program.
    const bad = `${dir}/half`;
    Deno.writeTextFileSync(
      bad,
      `#!/bin/sh\n[ "$1" = --version ] && { echo "elfuse 0.1.0"; exit 0; }\necho "no backend" >&2\nexit 70\n`,
    );
    Deno.chmodSync(bad, 0o755);
    assert.match(
      (await smokeProblem(bad))!,
      /did not run a hello program \(exit 70\): 'no backend'/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("compile: the smoke test's hello is a valid aarch64 program", async () => {
  const f = Deno.makeTempFileSync({ prefix: "elfuse-hello-" });
  try {
    Deno.writeFileSync(f, helloElf(), { mode: 0o755 });
    const r = await runCli(f);
    assert.deepEqual([r.code, r.stdout, r.stderr], [0, "hello\n", ""]);
  } finally {
    Deno.removeSync(f);
  }
});
