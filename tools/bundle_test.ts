// The bundle (deno task bundle): one file that runs elfuse away from the source tree, Workers
// included, with libunicorn next to it.
import assert from "node:assert/strict";
import { buildBundle } from "./bundle.ts";
import { firstLibunicorn } from "../runtime/backends/unicorn/preload.ts";

const root = new URL("../", import.meta.url).pathname;
const busybox = `${root}.tools/debs/busybox-static/bin/busybox`;

Deno.test("bundle: hello, a fork pipeline, signals, --strace and --timeout from one file", async () => {
  const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-bundle-test-" }));
  try {
    await buildBundle(`${dir}/elfuse.js`);
    // libunicorn next to the bundle: the one this checkout uses, by the name elfuse looks for.
    Deno.symlinkSync(Deno.realPathSync(firstLibunicorn()), `${dir}/libunicorn.so.2`);
    const env = Deno.env.toObject();
    delete env.ELFUSE_LIBUNICORN;
    const run = async (...args: string[]) => {
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", `${dir}/elfuse.js`, ...args],
        cwd: dir,
        clearEnv: true,
        env,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return [o.code, dec.decode(o.stdout), dec.decode(o.stderr)];
    };
    assert.deepEqual(await run(`${root}fixtures/build/hello`), [0, "hello, world\n", ""]);
    assert.deepEqual(await run(busybox, "sh", "-c", "echo x | cat; (exit 3)"), [3, "x\n", ""]);
    // A handled signal goes through the signal listener Worker.
    assert.deepEqual(
      await run(busybox, "sh", "-c", "trap 'echo got' USR1; kill -USR1 $$; echo after"),
      [0, "got\nafter\n", ""],
    );
    const [code, out, err] = await run("--strace", `${root}fixtures/build/hello`);
    assert.deepEqual([code, out], [0, "hello, world\n"]);
    assert.match(err as string, /^write\(1, "hello, world\\n", 13\) = 13$/m);
    // The watchdog Worker: the run ends at the deadline with timeout(1)'s status.
    assert.deepEqual(await run("--timeout", "1", busybox, "sleep", "600"), [
      124,
      "",
      "elfuse: timed out after 1 s\n",
    ]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
