// Preloading libunicorn: the background dlopen really maps the library, and the backend's own
// load afterwards is the same library. Run in a fresh process: this one may have loaded it already.
import assert from "node:assert/strict";

Deno.test({
  name: "preload: the background dlopen maps libunicorn before the backend asks for it",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const preload = new URL("./preload.ts", import.meta.url).href;
    const ffi = new URL("./ffi.ts", import.meta.url).href;
    const script = `
      const { preloadUnicorn, firstLibunicorn } = await import(${JSON.stringify(preload)});
      const mapped = () => Deno.readTextFileSync("/proc/self/maps").includes("libunicorn");
      if (mapped()) throw new Error("loaded before the preload");
      const handle = await preloadUnicorn();
      if (handle === null || !mapped()) throw new Error("the preload did not load the library");
      if (preloadUnicorn() === undefined) throw new Error("a second call lost the first");
      const { openUnicorn } = await import(${JSON.stringify(ffi)});
      console.log(openUnicorn().path === firstLibunicorn());
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stderr), "");
    assert.equal(new TextDecoder().decode(out.stdout), "true\n");
  },
});

Deno.test({
  name:
    "libunicorn's search order: ELFUSE_LIBUNICORN alone, else beside the main module, .tools, the system's",
  ignore: Deno.build.os !== "linux",
  async fn() {
    const preload = new URL("./preload.ts", import.meta.url).href;
    const dir = Deno.realPathSync(Deno.makeTempDirSync({ prefix: "elfuse-main-" }));
    try {
      Deno.writeTextFileSync(
        `${dir}/main.ts`,
        `const { libunicornCandidates } = await import(${JSON.stringify(preload)});
console.log(JSON.stringify(libunicornCandidates()));`,
      );
      const run = async (env: Record<string, string>) => {
        const env0 = Deno.env.toObject();
        delete env0.ELFUSE_LIBUNICORN;
        const o = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", "--no-config", `${dir}/main.ts`],
          clearEnv: true,
          env: { ...env0, ...env },
          stdout: "piped",
        }).output();
        return JSON.parse(new TextDecoder().decode(o.stdout));
      };
      const repo = new URL("../../../", import.meta.url).pathname;
      const triplet = Deno.build.arch === "aarch64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu";
      assert.deepEqual(await run({}), [
        `${dir}/libunicorn.so.2`,
        `${repo}.tools/unicorn/sid/usr/lib/${triplet}/libunicorn.so.2`,
        "libunicorn.so.2",
      ]);
      assert.deepEqual(await run({ ELFUSE_LIBUNICORN: "/opt/u/libunicorn.so.2" }), [
        "/opt/u/libunicorn.so.2",
      ]);
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
