// runProgram in the calling process (what cli.ts does, and what a library child runs): once the
// guest is gone nothing of it may keep the process alive.
import assert from "node:assert/strict";

const repo = new URL("../", import.meta.url).pathname;
const busybox = `${repo}.tools/debs/busybox-static/bin/busybox`;

Deno.test("runProgram: a process that ran a forking guest in itself exits when it returns", async () => {
  // The guest installs SIGCHLD handling, which starts the signal listener Worker; a Worker left
  // running kept the event loop, so the script hung after printing the status.
  const dir = Deno.makeTempDirSync({ prefix: "elfuse-run-" });
  const script = `${dir}/inproc.ts`;
  Deno.writeTextFileSync(
    script,
    `import { runProgram } from ${JSON.stringify(`${repo}runtime/run.ts`)};
const s = await runProgram({ program: ${
      JSON.stringify(busybox)
    }, args: ["sh", "-c", "echo x | cat; trap 'echo t' USR1; kill -USR1 $$"] });
console.log(JSON.stringify(s));
`,
  );
  const ac = new AbortController();
  const guard = setTimeout(() => ac.abort(), 120_000); // kills a hang; no time is judged
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: ac.signal,
  }).output();
  clearTimeout(guard);
  Deno.removeSync(dir, { recursive: true });
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.deepEqual({ code: out.code, signal: out.signal }, { code: 0, signal: null });
  assert.equal(new TextDecoder().decode(out.stdout), 'x\nt\n{"code":0}\n');
});
