// Where a Worker's module comes from. From source, its file beside the module that starts it; in
// a bundle (tools/bundle.ts), the worker's own bundled code, which the bundle's first lines put
// on globalThis, served as a blob: URL (a bundle is one file: there is no worker file to load).

/** The global the bundle's prelude sets: worker name to bundled JavaScript. */
export const BUNDLED_WORKERS = Symbol.for("elfuse.bundledWorkers");

/** The names of elfuse's Workers, as the bundle knows them. */
export type WorkerName = "watchdog" | "signal_worker" | "rosettad_worker";

/** The URL to start Worker `name` from: its bundled code when bundled, else `source`. */
export function workerUrl(name: WorkerName, source: URL): string | URL {
  const bundled = (globalThis as Record<symbol, Record<string, string> | undefined>)[
    BUNDLED_WORKERS
  ]?.[name];
  if (bundled === undefined) return source;
  return URL.createObjectURL(new Blob([bundled], { type: "text/javascript" }));
}
