// The rosettad bridge's AOT cache (shared/reference/elfuse.md §1.18): translations kept as
// $HOME/.cache/elfuse-rosettad/<sha256>.aot, made on a miss by the translation command
// (rosettad.ts translatePlan) into a temporary file of their own and published by rename, so a
// reader sees a whole file or none. Runs in the bridge's Worker (rosettad_worker.ts); only Deno's
// own APIs, so it is tested directly (rosettad_cache_test.ts).
import { aotCachePath, digestHex, fileDigest, translatePlan } from "./rosettad.ts";

/** What the cache needs to know: where it is, what translates, how long that may take. */
export interface CacheSettings {
  /** $HOME, or undefined when it is not set (then every lookup misses, as the original's). */
  home: string | undefined;
  /** The command run as `COMMAND translate IN OUT` (rosettad_bridge.ts translatorCommand). */
  command: string[];
  timeoutMs: number;
  /** A one-line diagnostic (under -v). */
  note?: (line: string) => void;
}

/** A translation's outcome: the digest and the cached file's path, or why there is none. */
export type Translated = { digest: Uint8Array; path: string } | { error: string };

export class AotCache {
  readonly #s: CacheSettings;
  /** Translations under way, by digest: a second miss of the same file waits for the first. */
  readonly #inflight = new Map<string, Promise<string | undefined>>();
  #count = 0;

  constructor(settings: CacheSettings) {
    this.#s = settings;
  }

  /** The cached file for `digest`, when there is one. */
  lookup(digest: Uint8Array): string | undefined {
    if (this.#s.home === undefined) return undefined;
    const path = aotCachePath(this.#s.home, digest);
    try {
      return Deno.statSync(path).isFile ? path : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * The translation of an x86-64 file's `bytes`: from the cache, else made now. The digest is of
   * these bytes, and the translator reads a copy of these same bytes (the original's reason: a
   * file changed between hashing and translating would poison the cache).
   */
  async translate(bytes: Uint8Array<ArrayBuffer>): Promise<Translated> {
    const digest = await fileDigest(bytes);
    if (this.#s.home === undefined) return { error: "HOME is not set: no cache" };
    const hit = this.lookup(digest);
    if (hit !== undefined) return { digest, path: hit };
    const hex = digestHex(digest);
    let run = this.#inflight.get(hex);
    if (run === undefined) {
      run = this.#run(bytes, aotCachePath(this.#s.home, digest)).finally(() =>
        this.#inflight.delete(hex)
      );
      this.#inflight.set(hex, run);
    }
    const error = await run;
    if (error !== undefined) return { error };
    const path = this.lookup(digest);
    return path === undefined
      ? { error: "the translation vanished from the cache" }
      : { digest, path };
  }

  /** Runs the translator for one miss: undefined when `output` now holds its result. */
  async #run(bytes: Uint8Array, output: string): Promise<string | undefined> {
    const dir = output.slice(0, output.lastIndexOf("/"));
    const tag = `${Deno.pid}.${++this.#count}`;
    const input = `${output}.in.${tag}`;
    const plan = translatePlan(this.#s.command, input, output, tag);
    try {
      Deno.mkdirSync(dir, { recursive: true });
      Deno.writeFileSync(input, bytes);
      // The run's environment, but not its test stand-in for Rosetta (rosettad is no translator).
      const env = Deno.env.toObject();
      delete env.ELFUSE_X86_STANDIN;
      const child = new Deno.Command(plan.args[0], {
        args: plan.args.slice(1),
        env,
        clearEnv: true,
        stdin: "null",
        stdout: "null", // the guest's stdout is not the translator's
        stderr: "inherit",
      }).spawn();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill("SIGKILL");
      }, this.#s.timeoutMs);
      // The exit, not the pipes: a killed translator's own children may hold them open.
      const status = await child.status;
      clearTimeout(timer);
      if (timedOut) return `translation timed out after ${this.#s.timeoutMs / 1000} s`;
      if (!status.success) return `translator exited with status ${status.code}`;
      if (Deno.statSync(plan.temp).size === 0) return "translator wrote nothing";
      Deno.renameSync(plan.temp, output); // atomic: readers see the old name or the whole file
      this.#s.note?.(`rosettad: translated into ${output}`);
      return undefined;
    } catch (e) {
      return `cannot translate: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      for (const f of [input, plan.temp]) {
        try {
          Deno.removeSync(f);
        } catch { /* gone already: renamed, or never made */ }
      }
    }
  }
}
