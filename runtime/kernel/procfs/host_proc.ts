// Values of the host process that are the guest's too (the elfuse process is the guest process
// on Linux: its CPU time, faults, start time, capabilities, CPU affinity), read from the host's
// own /proc. Elsewhere (macOS) there is no such file and callers use their defaults.

/** The host's /proc/self/`name`, or "" where there is none. */
export function hostProcText(name: string): string {
  try {
    return Deno.readTextFileSync(`/proc/self/${name}`);
  } catch {
    return "";
  }
}

/** `Key:\tvalue` lines of a host status-like file, by key. */
export function keyedLines(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) out.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return out;
}

/** Fields of the host's /proc/self/stat after the comm, numbered as proc(5) numbers them (3..). */
export function hostStatFields(): Map<number, string> {
  const text = hostProcText("stat");
  const out = new Map<number, string>();
  const close = text.lastIndexOf(")");
  if (close < 0) return out;
  text.slice(close + 2).trim().split(" ").forEach((v, i) => out.set(i + 3, v));
  return out;
}

/** The host's global /proc file (cpu times, memory, load), or undefined where there is none. */
export function hostGlobal(name: string): string | undefined {
  try {
    return Deno.readTextFileSync(`/proc/${name}`);
  } catch {
    return undefined;
  }
}
