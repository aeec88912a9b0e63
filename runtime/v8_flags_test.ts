// Every way elfuse starts passes the same V8 flags (runtime/v8_flags.ts says why they matter).
import assert from "node:assert/strict";
import { V8_FLAGS, V8_FLAGS_ARG } from "./v8_flags.ts";
import { selfCommand } from "./host/spawn.ts";
import { compileArgs } from "../tools/compile.ts";
import { ElfuseRunner } from "../matrix/runners.ts";

const root = new URL("../", import.meta.url).pathname;

Deno.test("the launcher, deno task run, deno compile, fork children and the matrix pass elfuse's V8 flags", () => {
  assert.equal(V8_FLAGS_ARG, `--v8-flags=${V8_FLAGS.join(",")}`);
  const launcher = Deno.readTextFileSync(`${root}elfuse`);
  assert.match(launcher, new RegExp(`run -A ${V8_FLAGS_ARG} `));
  const tasks = JSON.parse(Deno.readTextFileSync(`${root}deno.json`)).tasks;
  assert.ok(tasks.run.command.includes(` ${V8_FLAGS_ARG} cli.ts`), tasks.run.command);
  assert.ok(compileArgs("out").includes(V8_FLAGS_ARG));
  // Under `deno test` the main module is this test file, run through deno: the deno form.
  assert.ok(selfCommand(["--fork-spare"]).includes(V8_FLAGS_ARG));
  const argv = new ElfuseRunner(root).argv(
    {
      program: "/bin/true",
      args: [],
      env: {},
      cwd: "/",
    } as unknown as Parameters<ElfuseRunner["argv"]>[0],
  );
  assert.deepEqual(argv.slice(0, 3), ["run", "-A", V8_FLAGS_ARG]);
});

Deno.test("V8 takes the flags (a misspelt flag would end every run)", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--quiet", ...[V8_FLAGS_ARG], "console.log('ok')"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(new TextDecoder().decode(r.stdout), "ok\n", new TextDecoder().decode(r.stderr));
  assert.equal(r.code, 0);
});
