// Guest paths under --sysroot: which files are the sysroot's and which the host's, decided after
// the path is made canonical, and a component-by-component walk that reads symlinks itself, so
// that neither `..` nor a symlink (the guest's own in /tmp, Debian's /lib -> usr/lib, /proc's
// root and cwd links) leads anywhere the rules do not allow. Rules: docs/sysroot.md.
import { E } from "../kernel/errno.ts";

/** Guest system prefixes: always the sysroot's, never the host's. */
export const SYSTEM_PREFIXES = [
  "usr",
  "lib",
  "lib32",
  "lib64",
  "libx32",
  "bin",
  "sbin",
  "etc",
  "var",
  "opt",
];
/** Always the host's: shared scratch space and the kernel's own file systems. */
export const HOST_PREFIXES = ["tmp", "dev", "proc", "sys"];

const MAX_LINKS = 40; // Linux's MAXSYMLINKS

/** The components of a path after ".", ".." and repeated slashes; ".." stops at "/". */
function canonicalParts(p: string): string[] {
  const out: string[] = [];
  for (const c of p.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") out.pop();
    else out.push(c);
  }
  return out;
}

/** Which tree a path belongs to, by its first component. */
type Tree = "sysroot" | "host" | "either";
function treeOf(first: string | undefined): Tree {
  if (first === undefined || SYSTEM_PREFIXES.includes(first)) return "sysroot";
  return HOST_PREFIXES.includes(first) ? "host" : "either";
}

/** /proc/PID/{cwd,root,exe}, /proc/PID/fd/N, also under task/TID: links the host kernel follows. */
function procLinkLength(parts: string[]): number {
  if (parts[0] !== "proc" || parts.length < 3) return 0;
  let i = 2;
  if (parts[2] === "task" && parts.length >= 5) i = 4;
  if (["cwd", "root", "exe"].includes(parts[i])) return i + 1;
  if ((parts[i] === "fd" || parts[i] === "map_files") && parts.length > i + 1) return i + 2;
  return 0;
}

export class Sysroot {
  /** Absolute host directory, symlinks resolved, no trailing slash. */
  readonly root: string;

  constructor(dir: string) {
    let st;
    try {
      st = Deno.statSync(dir);
    } catch {
      throw new Error(`${dir}: no such directory`);
    }
    if (!st.isDirectory) throw new Error(`${dir}: not a directory`);
    this.root = Deno.realPathSync(dir).replace(/\/+$/, "");
  }

  /**
   * The host path for an absolute guest path, or -errno (ELOOP). The path is made canonical
   * first; its first component then decides (docs/sysroot.md): /tmp, /dev, /proc, /sys are the
   * host's; /, /usr, /lib, /bin, /sbin, /etc, /var, /opt and the like the sysroot's; any other
   * is the sysroot's when its directory exists there, else the host's. Symlinks are read by
   * this walk (in the sysroot and in the host's /tmp, /dev and other directories): an absolute
   * target is a guest path again, and starts over. In /proc and /sys the host kernel follows
   * links, except /proc/PID/{cwd,root,fd/N,...} with more components after them, whose targets
   * are taken as guest paths too. `follow`: a symlink in the last component is followed.
   */
  hostPath(guest: string, follow = true): string | number {
    return this.#resolve(canonicalParts(guest), follow, 0);
  }

  #resolve(parts: string[], follow: boolean, links: number): string | number {
    if (links > MAX_LINKS) return -E.ELOOP;
    const first = parts[0];
    if (first === "proc" || first === "sys") return this.#kernelTree(parts, follow, links);
    const tree = treeOf(first);
    if (tree !== "either") {
      return this.#walk(tree === "sysroot" ? this.root : "", parts, follow, links);
    }
    // The user's own directories: the sysroot's when it has the path, or the directory a new file
    // would go in; else the host's.
    const inSysroot = this.#exists(`${this.root}/${parts.join("/")}`) ||
      (parts.length > 1 && this.#isDirectory(`${this.root}/${parts.slice(0, -1).join("/")}`));
    return this.#walk(inSysroot ? this.root : "", parts, follow, links);
  }

  /** /proc and /sys: the host's, as given, but a link of /proc/PID leads to a guest path. */
  #kernelTree(parts: string[], follow: boolean, links: number): string | number {
    const n = procLinkLength(parts);
    if (n > 0 && n < parts.length) {
      let target: string | undefined;
      try {
        target = Deno.readLinkSync(`/${parts.slice(0, n).join("/")}`);
      } catch {
        target = undefined;
      }
      if (target?.startsWith("/")) {
        const rest = parts.slice(n);
        return this.#resolve(
          [...canonicalParts(this.guestPath(target)), ...rest],
          follow,
          links + 1,
        );
      }
    }
    return `/${parts.join("/")}`;
  }

  #exists(host: string): boolean {
    try {
      Deno.lstatSync(host);
      return true;
    } catch {
      return false;
    }
  }

  #isDirectory(host: string): boolean {
    try {
      return Deno.statSync(host).isDirectory;
    } catch {
      return false;
    }
  }

  /**
   * Walks `parts` under `base` ("" for the host's tree) reading each symlink: a relative target
   * continues from its directory (`..` in it stops at the tree's root), an absolute one is a
   * guest path and goes back to #resolve. Missing components are taken as they are.
   */
  #walk(base: string, parts: string[], follow: boolean, links: number): string | number {
    const done: string[] = [];
    const todo = [...parts].reverse(); // a stack: next component last
    let exists = true;
    while (todo.length) {
      const c = todo.pop()!;
      if (c === "..") {
        done.pop();
        // Back at the root, a link's `..` has left this tree: the rules decide again.
        if (done.length === 0) return this.#resolve(todo.reverse(), follow, links);
        continue;
      }
      if (c === ".") continue;
      done.push(c);
      if (!exists) continue; // below a missing component: lexical only
      if (base === "" && (done[0] === "proc" || done[0] === "sys") && done.length === 1) {
        // A relative link climbed into the host kernel's trees: those rules apply from here.
        return this.#kernelTree([...done, ...todo.reverse()], follow, links);
      }
      const host = `${base}/${done.join("/")}`;
      let isLink: boolean;
      try {
        isLink = Deno.lstatSync(host).isSymlink;
      } catch {
        exists = false;
        continue;
      }
      if (!isLink || (todo.length === 0 && !follow)) continue;
      if (++links > MAX_LINKS) return -E.ELOOP;
      const target = Deno.readLinkSync(host);
      done.pop();
      if (target.startsWith("/")) {
        // The guest wrote it (or the sysroot's packages did): a guest path, classified again.
        return this.#resolve([...canonicalParts(target), ...todo.reverse()], follow, links);
      }
      todo.push(...target.split("/").filter((t) => t !== "").reverse());
    }
    return `${base}/${done.join("/")}`;
  }

  /** A host path shown to the guest: the sysroot prefix stripped. */
  guestPath(host: string): string {
    if (host === this.root) return "/";
    return host.startsWith(this.root + "/") ? host.slice(this.root.length) : host;
  }

  /** True when a host path lies inside the sysroot. */
  contains(host: string): boolean {
    return host === this.root || host.startsWith(this.root + "/");
  }
}
