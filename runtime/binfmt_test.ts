import assert from "node:assert/strict";
import { binfmtMain, ENTRY, FLAGS, interpreterPath } from "./binfmt.ts";
import { registrationLine } from "./host/binfmt_misc.ts";
import type { ElfuseError } from "./errors.ts";

/** Runs binfmtMain with console.log captured. */
async function run(args: string[], root: string): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (s: string) => lines.push(s);
  try {
    return { code: await binfmtMain(args, root), out: lines.join("\n") };
  } finally {
    console.log = log;
  }
}

Deno.test("elfuse binfmt: the interpreter is this checkout's, and runs ./elfuse with flag P's argv", () => {
  const interp = interpreterPath();
  assert.match(interp, /\/tools\/elfuse-binfmt$/);
  const st = Deno.statSync(interp);
  assert.ok(st.isFile && ((st.mode ?? 0) & 0o111) !== 0, "executable");
  assert.match(
    Deno.readTextFileSync(interp),
    /exec "\$here\/\.\.\/elfuse" -0 "\$argv0" -- "\$program" "\$@"/,
  );
  assert.equal(FLAGS, "P");
});

Deno.test("elfuse binfmt: usage errors, status, and install/uninstall on an imitation", async () => {
  const root = await Deno.makeTempDir();
  try {
    await assert.rejects(() => run([], root), (e: ElfuseError) => e.exitCode === 2);
    await assert.rejects(() => run(["reinstall"], root), /unknown command 'reinstall'/);
    let r = await run(["status"], `${root}/missing`);
    assert.match(r.out, /not mounted.*\nelfuse is not registered/);
    await Deno.writeTextFile(`${root}/status`, "enabled\n");
    await Deno.writeTextFile(`${root}/register`, "");
    if (Deno.uid() !== 0) {
      await assert.rejects(() => run(["install"], root), /only root may change binfmt_misc/);
      return;
    }
    r = await run(["install"], root);
    assert.equal(r.code, 0);
    assert.equal(
      await Deno.readTextFile(`${root}/register`),
      registrationLine(ENTRY, interpreterPath(), FLAGS),
    );
    // The kernel would now show the entry; imitate it, then uninstall writes -1 to it.
    await Deno.writeTextFile(
      `${root}/${ENTRY}`,
      `enabled\ninterpreter ${interpreterPath()}\nflags: P\noffset 0\n` +
        "magic 7f454c460201010000000000000000000200b700\n" +
        "mask ffffffffffffff00fffffffffffffffffeffffff\n",
    );
    r = await run(["status"], root);
    assert.match(r.out, /elfuse is registered: .*elfuse-binfmt \(flags P\)/);
    r = await run(["install"], root);
    assert.match(r.out, /already registered/);
    r = await run(["uninstall"], root);
    assert.equal(await Deno.readTextFile(`${root}/${ENTRY}`), "-1");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
