// `deno task bundle`: elfuse as one JavaScript file (dist/elfuse.js) that `deno run -A` runs
// with no network and no source tree: the CLI and every lazily imported module, with its Workers
// (the --timeout watchdog, the signal listener) bundled too and started from blob: URLs
// (runtime/host/worker_url.ts). libunicorn is looked up as documented in docs/usage.md (put it
// next to the bundle, or set ELFUSE_LIBUNICORN).
import { parseArgs } from "../runtime/deps.ts";
import { BUNDLED_WORKERS, type WorkerName } from "../runtime/host/worker_url.ts";

const root = new URL("../", import.meta.url).pathname;

/** Each Worker's entry module, by the name runtime/host/worker_url.ts knows it by. */
export const WORKERS: Record<WorkerName, string> = {
  watchdog: `${root}runtime/watchdog.ts`,
  signal_worker: `${root}runtime/host/signal_worker.ts`,
  rosettad_worker: `${root}runtime/x86/rosettad_worker.ts`,
};

/** One module and what it imports as a single ES module (deno bundle). */
async function bundleOne(entry: string, output: string): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["bundle", "--quiet", "--platform", "deno", "-o", output, entry],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (r.code !== 0) {
    const err = new TextDecoder().decode(r.stderr).trim().split("\n")[0];
    throw new Error(`deno bundle ${entry} failed: ${err}`);
  }
  return Deno.readTextFileSync(output);
}

/**
 * Writes the bundle to `output`: a prelude that gives worker_url.ts each Worker's code, then the
 * CLI (whose import.meta.main is the bundle's, so running the bundle runs elfuse).
 */
export async function buildBundle(output: string): Promise<void> {
  const tmp = Deno.makeTempDirSync({ prefix: "elfuse-bundle-" });
  try {
    const workers: Record<string, string> = {};
    for (const [name, entry] of Object.entries(WORKERS)) {
      workers[name] = await bundleOne(entry, `${tmp}/${name}.js`);
    }
    const cli = await bundleOne(`${root}cli.ts`, `${tmp}/cli.js`);
    const prelude = `globalThis[Symbol.for(${JSON.stringify(BUNDLED_WORKERS.description)})] = ${
      JSON.stringify(workers)
    };\n`;
    // The CLI's own imports (node: built-ins) come first in its module; the prelude runs before
    // any of its code, and Workers only start once a run is under way.
    const dir = output.slice(0, output.lastIndexOf("/"));
    if (dir) Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(
      output,
      `// elfuse, bundled: deno run -A ${output.split("/").pop()}\n${prelude}${cli}`,
    );
  } finally {
    Deno.removeSync(tmp, { recursive: true });
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: { output: { type: "string", short: "o" } },
  });
  const output = values.output ?? `${root}dist/elfuse.js`;
  try {
    await buildBundle(output);
  } catch (e) {
    console.error(`bundle: ${(e as Error).message}`);
    Deno.exit(1);
  }
  console.log(`bundle: wrote ${output} (run it with deno run -A ${output})`);
}
