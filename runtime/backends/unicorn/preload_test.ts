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
      const { preloadUnicorn, libunicornCandidates } = await import(${JSON.stringify(preload)});
      const mapped = () => Deno.readTextFileSync("/proc/self/maps").includes("libunicorn");
      if (mapped()) throw new Error("loaded before the preload");
      const handle = await preloadUnicorn();
      if (handle === null || !mapped()) throw new Error("the preload did not load the library");
      if (preloadUnicorn() === undefined) throw new Error("a second call lost the first");
      const { openUnicorn } = await import(${JSON.stringify(ffi)});
      console.log(openUnicorn().path === libunicornCandidates()[0]);
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
