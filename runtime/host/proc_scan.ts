// Finding host processes by what /proc shows of them (Linux): the --timeout watchdog finds every
// process of a run by the environment marker they inherit.

/** Pids whose /proc/PID/`file` ("environ", "cmdline") contains `text`; [] where there is no /proc. */
export function processesWith(file: "environ" | "cmdline", text: string): number[] {
  const found: number[] = [];
  let entries: Iterable<Deno.DirEntry>;
  try {
    entries = Deno.readDirSync("/proc");
  } catch {
    return found;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      if (Deno.readTextFileSync(`/proc/${e.name}/${file}`).includes(text)) {
        found.push(Number(e.name));
      }
    } catch { /* exited meanwhile, or not ours to read */ }
  }
  return found;
}
