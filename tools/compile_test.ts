import assert from "node:assert/strict";
import { codesignArgs, compileArgs } from "./compile.ts";

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
