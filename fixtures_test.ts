// Every fixture in the catalog, run under elfuse, judged by its own expectation. Build them first
// with `deno task fixtures` (./dev test does).
import assert from "node:assert/strict";
import { fixtures, sysrootDirs } from "./fixtures/catalog.ts";

const root = new URL("./", import.meta.url).pathname;
const backend = Deno.env.get("ELFUSE_TEST_BACKEND") ?? "unicorn";

Deno.test("the catalog lists fixtures and they are built", () => {
  assert.ok(fixtures.length >= 25, `only ${fixtures.length} fixtures in fixtures/catalog.ts`);
  const missing = fixtures.filter((f) => {
    try {
      Deno.statSync(`${root}fixtures/build/${f.name}`);
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(missing.map((f) => f.name), [], "run `deno task fixtures` to build them");
});

for (const f of fixtures) {
  Deno.test(`fixture ${f.name}`, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${root}cli.ts`,
        "--backend",
        backend,
        "--timeout",
        String(f.timeout ?? 30),
        ...(f.sysroot ? ["--sysroot", sysrootDirs[f.sysroot]] : []),
        `${root}fixtures/build/${f.name}`,
        ...(f.args ?? []),
      ],
      stdin: f.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      cwd: Deno.makeTempDirSync({ prefix: "elfuse-test-" }),
    }).spawn();
    if (f.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(f.stdin));
      await w.close();
    }
    const out = await child.output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const shown = `exit ${out.code}${out.signal ? ` signal ${out.signal}` : ""}\n--- stdout\n${
      stdout.slice(-3000)
    }\n--- stderr\n${stderr.slice(-2000)}`;
    if (f.expect.kind === "self-check") {
      const summary = stdout.trimEnd().split("\n").filter((l) => /^\d+ passed, \d+ failed$/.test(l))
        .pop();
      assert.ok(summary !== undefined, `no "N passed, N failed" line\n${shown}`);
      // Every FAIL line must be a known failure, and every known failure must still fail.
      const known = { ...f.knownFailures, ...f.mayFail };
      // "FAIL - NAME: details"; a name may itself contain ": ", so match the known names.
      const failed = stdout.split("\n").filter((l) => l.startsWith("FAIL - ")).map((l) => {
        const name = Object.keys(known).find((c) => l.startsWith(`FAIL - ${c}:`));
        return name ?? l.slice(7);
      });
      const unexpected = failed.filter((c) => !(c in known));
      assert.deepEqual(unexpected, [], `unexpected failures\n${shown}`);
      const fixed = Object.keys(f.knownFailures ?? {}).filter((c) => !failed.includes(c));
      assert.deepEqual(fixed, [], "known failures that now pass: fixed, remove the entries");
      assert.match(summary, new RegExp(` ${failed.length} failed$`), shown);
      assert.equal(out.code, failed.length === 0 ? 0 : 1, shown);
    } else {
      if (f.expect.signal) assert.equal(out.signal, f.expect.signal, shown);
      else assert.equal(out.code, f.expect.exit, shown);
      if (f.expect.stdout !== undefined) assert.equal(stdout, f.expect.stdout, shown);
    }
  });
}
