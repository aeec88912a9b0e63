// What a minimal Debian system has that unpacking packages alone does not give: `sysroot create`
// runs no maintainer scripts, so it does here the part of their work a guest notices. base-passwd's
// postinst writes /etc/passwd and /etc/group from its masters (update-passwd); packages register
// alternatives in their postinst (`update-alternatives --install LINK NAME PATH PRIORITY
// [--slave LINK NAME PATH]...`: awk, which, editor...), the highest priority winning, as links
// LINK -> /etc/alternatives/NAME -> PATH; ca-certificates' postinst builds the bundle
// /etc/ssl/certs/ca-certificates.crt from /usr/share/ca-certificates (update-ca-certificates).
// dash needs nothing: its package ships /bin/sh -> dash.

/**
 * What every sysroot gets unless `--only` says otherwise: the Essential packages of Debian that
 * hold files and commands programs expect (dash as /bin/sh, base-passwd's users and groups,
 * debianutils' which, coreutils, sed, grep, tar...). Essential ones a guest program does not
 * use (login, util-linux, perl-base, init-system-helpers...) are left out.
 */
export const BASE_PACKAGES = [
  "base-files",
  "base-passwd",
  "bash",
  "coreutils",
  "dash",
  "debianutils",
  "diffutils",
  "findutils",
  "grep",
  "gzip",
  "sed",
  "tar",
];

/** One `update-alternatives --install` of a postinst, with its slaves. */
export interface Alternative {
  /** The generic name's link, e.g. /usr/bin/awk. */
  link: string;
  /** The alternative's name, e.g. awk (the file under /etc/alternatives). */
  name: string;
  /** The program it points to, e.g. /usr/bin/gawk. */
  path: string;
  /** Higher wins (update-alternatives' automatic mode). */
  priority: number;
  /** Links that follow the master's choice (man pages, nawk...). */
  slaves: { link: string; name: string; path: string }[];
}

/**
 * The alternatives a maintainer script installs. Lines with shell variables or substitutions are
 * left out: without running the script their values are unknown.
 */
export function parseAlternatives(script: string): Alternative[] {
  const out: Alternative[] = [];
  const joined = script.replace(/\\\n/g, " ");
  for (const line of joined.split("\n")) {
    const at = line.indexOf("update-alternatives");
    if (at < 0 || !/\s--install\s/.test(line)) continue;
    const words = line.slice(at).split(/[;&|]/)[0].trim().split(/\s+/);
    if (words.some((w) => /[$`]/.test(w))) continue;
    const i = words.indexOf("--install");
    const [link, name, path, prio] = words.slice(i + 1, i + 5);
    if (!link?.startsWith("/") || !path?.startsWith("/") || !/^-?\d+$/.test(prio ?? "")) continue;
    const alt: Alternative = { link, name, path, priority: Number(prio), slaves: [] };
    for (let j = i + 5; j < words.length; j++) {
      if (words[j] !== "--slave" && words[j] !== "--follower") continue;
      const [sl, sn, sp] = words.slice(j + 1, j + 4);
      if (sl?.startsWith("/") && sp?.startsWith("/")) {
        alt.slaves.push({ link: sl, name: sn, path: sp });
      }
      j += 3;
    }
    out.push(alt);
  }
  return out;
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p); // follows links: a link into a package that is not there does not count
    return true;
  } catch {
    return false;
  }
}

function isLink(p: string): boolean {
  try {
    return Deno.lstatSync(p).isSymlink;
  } catch {
    return false;
  }
}

/** Makes `at` a symlink to `target`, replacing a link there; a real file is left alone. */
function link(at: string, target: string): void {
  if (isLink(at)) Deno.removeSync(at);
  else if (exists(at)) return;
  Deno.mkdirSync(at.slice(0, at.lastIndexOf("/")), { recursive: true });
  Deno.symlinkSync(target, at);
}

/**
 * The links of every alternatives group whose best choice is in the sysroot (root + guest
 * path): as update-alternatives in automatic mode, the highest priority among those present.
 */
export function applyAlternatives(root: string, alternatives: Alternative[]): number {
  const best = new Map<string, Alternative>();
  for (const a of alternatives) {
    if (!exists(root + a.path)) continue;
    const b = best.get(a.name);
    if (b === undefined || a.priority > b.priority) best.set(a.name, a);
  }
  for (const a of best.values()) {
    link(`${root}/etc/alternatives/${a.name}`, a.path);
    link(root + a.link, `/etc/alternatives/${a.name}`);
    for (const s of a.slaves) {
      if (!exists(root + s.path)) continue;
      link(`${root}/etc/alternatives/${s.name}`, s.path);
      link(root + s.link, `/etc/alternatives/${s.name}`);
    }
  }
  return best.size;
}

/** /etc/passwd and /etc/group from base-passwd's masters, when the sysroot has none. */
export function applyBasePasswd(root: string): void {
  for (const f of ["passwd", "group"]) {
    const master = `${root}/usr/share/base-passwd/${f}.master`;
    if (exists(master) && !exists(`${root}/etc/${f}`)) {
      Deno.mkdirSync(`${root}/etc`, { recursive: true });
      Deno.copyFileSync(master, `${root}/etc/${f}`);
    }
  }
}

/** Every file under `dir` whose name ends with `suffix`, sorted. */
function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...filesUnder(p, suffix));
    else if (e.name.endsWith(suffix)) out.push(p);
  }
  return out.sort();
}

/** The CA bundle from ca-certificates' certificates, when that package is installed. */
export function applyCaCertificates(root: string): boolean {
  const dir = `${root}/usr/share/ca-certificates`;
  if (!exists(dir)) return false;
  const pems = filesUnder(dir, ".crt").map((f) => Deno.readTextFileSync(f).trimEnd() + "\n");
  Deno.mkdirSync(`${root}/etc/ssl/certs`, { recursive: true });
  const bundle = `${root}/etc/ssl/certs/ca-certificates.crt`;
  if (isLink(bundle)) Deno.removeSync(bundle);
  Deno.writeTextFileSync(bundle, pems.join(""));
  return true;
}
