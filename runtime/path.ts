// POSIX path helpers for the start-up path. node:path would do, but the first node: import
// initialises Deno's Node compatibility layer, measured at ~4.5 ms of every elfuse start (and of
// every fork child), so the few functions the runtime needs are written out here.

export function isAbsolute(p: string): boolean {
  return p.startsWith("/");
}

/** Joins and normalises: "." and ".." segments resolved lexically, no trailing slash. */
export function normalize(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!p.startsWith("/")) out.push("..");
    } else out.push(part);
  }
  const s = out.join("/");
  return p.startsWith("/") ? "/" + s : s || ".";
}

export function join(...parts: string[]): string {
  return normalize(parts.filter((x) => x !== "").join("/"));
}

/** Like path.resolve: later absolute parts win; relative ones build on `cwd`-first parts. */
export function resolve(...parts: string[]): string {
  let p = "";
  for (let i = parts.length - 1; i >= 0 && !p.startsWith("/"); i--) {
    if (parts[i] !== "") p = p === "" ? parts[i] : `${parts[i]}/${p}`;
  }
  if (!p.startsWith("/")) p = `${Deno.cwd()}/${p}`;
  return normalize(p);
}

export function dirname(p: string): string {
  const n = normalize(p);
  const i = n.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : n.slice(0, i);
}

export function basename(p: string): string {
  const n = normalize(p);
  return n.slice(n.lastIndexOf("/") + 1);
}
