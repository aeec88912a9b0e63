// Guest paths under --sysroot: which absolute paths live in the sysroot, which are the host's, and
// the component-by-component walk that keeps symlinks and `..` inside the sysroot (the host kernel
// would follow an absolute symlink such as /lib -> /usr/lib out to the host). Rules: docs/sysroot.md.
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

/** Splits a path into its non-empty components. */
function parts(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
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
   * The host path for an absolute guest path, or -errno (ELOOP). `follow`: a symlink in the last
   * component is followed (inside the sysroot) too. `inside`: the path was relative to a directory
   * in the sysroot, so it stays there whatever its first component.
   */
  hostPath(guest: string, follow = true, inside = false): string | number {
    const first = guest.split("/", 2)[1] ?? "";
    if (!inside && HOST_PREFIXES.includes(first)) return guest;
    const walked = this.walk(guest, follow);
    if (typeof walked === "number") return walked;
    if (inside) {
      // `..` may have climbed to a host-only directory such as /tmp.
      const top = walked.guest.split("/", 2)[1];
      return HOST_PREFIXES.includes(top) ? walked.guest : this.root + walked.guest;
    }
    const system = first === "" || SYSTEM_PREFIXES.includes(first);
    if (!system && !walked.exists) return guest; // the user's own files: the host's
    return this.root + walked.guest;
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

  /**
   * Resolves a guest path inside the sysroot: `..` stops at its root, absolute symlink targets
   * restart at its root. Returns the canonical guest path and whether every component exists.
   */
  walk(guest: string, follow: boolean): { guest: string; exists: boolean } | number {
    const done: string[] = [];
    const todo = parts(guest).reverse(); // a stack: next component last
    let links = 0;
    let exists = true;
    while (todo.length) {
      const c = todo.pop()!;
      if (c === "..") {
        done.pop();
        continue;
      }
      done.push(c);
      if (!exists) continue; // below a missing component: lexical only
      const host = this.root + "/" + done.join("/");
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
      if (target.startsWith("/")) done.length = 0;
      todo.push(...parts(target).reverse());
    }
    return { guest: "/" + done.join("/"), exists };
  }
}
