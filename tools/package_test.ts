// The package: what `deno publish` would ship (the runtime, the CLI, the matrix API and what they
// read at run time; no tests, fixtures' build outputs, benchmarks or fuzzers) and its metadata.
import assert from "node:assert/strict";

const root = new URL("../", import.meta.url).pathname;
const config = JSON.parse(Deno.readTextFileSync(`${root}deno.json`));

/** The files `deno publish --dry-run` lists, relative to the repository. */
async function published(): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["publish", "--dry-run", "--allow-dirty"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, text);
  assert.match(text, /Success Dry run complete/);
  return [...text.matchAll(/file:\/\/(\S+)/g)].map((m) => m[1].slice(root.length)).sort();
}

/** The local modules an entry point loads, lazy imports included. */
async function graph(entry: string): Promise<string[]> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root,
    stdout: "piped",
  }).output();
  const info = JSON.parse(new TextDecoder().decode(out.stdout));
  return info.modules.map((m: { specifier: string }) => m.specifier)
    .filter((s: string) => s.startsWith("file://"))
    .map((s: string) => new URL(s).pathname.slice(root.length));
}

Deno.test("package: deno publish ships the runtime, CLI and matrix, not tests or build outputs", async () => {
  const files = await published();
  for (const f of ["LICENSE", "README.md", "deno.json", "mod.ts", "cli.ts", "matrix/mod.ts"]) {
    assert.ok(files.includes(f), `${f} is shipped`);
  }
  // Everything the exports load, and the Workers and helper files they start by URL.
  const entries = Object.values(config.exports as Record<string, string>);
  const needed = new Set<string>(["runtime/watchdog.ts", "runtime/host/signal_worker.ts"]);
  needed.add("tools/elfuse-binfmt").add("entitlements.plist");
  for (const e of [...entries, "runtime/watchdog.ts", "runtime/host/signal_worker.ts"]) {
    for (const m of await graph(e)) needed.add(m);
  }
  const missing = [...needed].filter((f) => !files.includes(f));
  assert.deepEqual(missing, [], "every module the exports load is shipped");
  const unwanted = files.filter((f) =>
    /_test\.ts$|(^|\/)testing\.ts$|^fixtures\/|^bench\/|^fuzz\/|^\.tools\/|^dist\//.test(f)
  );
  assert.deepEqual(unwanted, []);
});

Deno.test("package: Apache-2.0 licence, a lock file, exports for the library, matrix and CLI", () => {
  assert.equal(config.license, "Apache-2.0");
  assert.match(Deno.readTextFileSync(`${root}LICENSE`), /Apache License\s+Version 2\.0/);
  assert.deepEqual(config.exports, {
    ".": "./mod.ts",
    "./matrix": "./matrix/mod.ts",
    "./cli": "./cli.ts",
  });
  // A frozen lock: a new dependency cannot slip in without the lock file changing.
  assert.equal(config.lock?.frozen, true);
  assert.ok(JSON.parse(Deno.readTextFileSync(`${root}deno.lock`)).version);
  assert.match(config.tasks.check.command, /deno doc --lint mod\.ts matrix\/mod\.ts cli\.ts/);
});

Deno.test("package: deno install -g -A -n elfuse of the CLI export gives an elfuse command", async () => {
  const dest = Deno.makeTempDirSync({ prefix: "elfuse-install-" });
  try {
    const inst = await new Deno.Command(Deno.execPath(), {
      args: ["install", "-g", "-A", "-n", "elfuse", "--root", dest, `${root}cli.ts`],
      cwd: dest,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(inst.code, 0, new TextDecoder().decode(inst.stderr));
    // A forking guest: its children run the installed command line again.
    const busybox = `${root}.tools/debs/busybox-static/bin/busybox`;
    const out = await new Deno.Command(`${dest}/bin/elfuse`, {
      args: [busybox, "sh", "-c", "echo x | cat"],
      cwd: dest,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(new TextDecoder().decode(out.stderr), "");
    assert.deepEqual([out.code, new TextDecoder().decode(out.stdout)], [0, "x\n"]);
  } finally {
    Deno.removeSync(dest, { recursive: true });
  }
});
