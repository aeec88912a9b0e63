// `elfuse sysroot create DIR PACKAGE...`: a sysroot from Debian arm64 packages and everything they
// depend on. apt-get resolves and downloads through a private state directory under DIR/.elfuse
// (the system's apt sources and dpkg architectures are never touched); dpkg-deb -x unpacks each
// package, and top-level /bin, /sbin, /lib are folded into /usr as on a merged-/usr system.
// Unless `only` is set, Debian's base (debian_base.ts) comes too, and what the maintainer scripts
// would have done that a guest notices is done afterwards. `--arch amd64` adds x86-64 packages
// (libraries for x86-64 programs run through box64) beside the arm64 ones, with an apt state
// directory of their own and never Debian's base (its commands would replace the arm64 ones).
import { ElfuseError } from "../errors.ts";
import {
  type Alternative,
  applyAlternatives,
  applyBasePasswd,
  applyCaCertificates,
  BASE_PACKAGES,
  parseAlternatives,
} from "./debian_base.ts";
import { SYSROOT_ARCHES, type SysrootArch } from "./arch.ts";

export interface CreateOptions {
  dir: string;
  packages: string[];
  /** Debian suite (default bookworm). */
  suite?: string;
  /** Debian architecture (default arm64; amd64 for x86_64 guests). */
  arch?: SysrootArch;
  /** Only the named packages and their dependencies, not Debian's base (BASE_PACKAGES). */
  only?: boolean;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

/** Top-level directories that are symlinks into /usr on a merged-/usr system (amd64 adds lib64). */
const MERGED_BY_ARCH: Record<SysrootArch, string[]> = {
  arm64: ["bin", "sbin", "lib"],
  amd64: ["bin", "sbin", "lib", "lib64"],
};
/** Package lists older than this are fetched again: the archive has moved on (404s). */
const LISTS_MAX_AGE_MS = 24 * 3600 * 1000;
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

async function command(cmd: string, args: string[], cwd?: string) {
  let out;
  try {
    out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch {
    throw new ElfuseError(
      `sysroot create: ${cmd} not found: it needs apt-get and dpkg-deb (a Debian or Ubuntu ` +
        `host: apt-get install apt dpkg)`,
      1,
    );
  }
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** apt-get with a private state directory; `arch` is its only architecture. */
function aptArgs(state: string, args: string[], arch: SysrootArch): string[] {
  return [
    "-q",
    "-o",
    `Dir::Etc::SourceList=${state}/sources.list`,
    "-o",
    "Dir::Etc::SourceParts=/nonexistent",
    "-o",
    `Dir::State=${state}`,
    "-o",
    `Dir::State::Lists=${state}/lists`,
    "-o",
    `Dir::Cache=${state}/cache`,
    "-o",
    `Dir::State::status=${state}/status`,
    "-o",
    `Dir::Etc::Preferences=${state}/prefs`,
    "-o",
    `Dir::Etc::PreferencesParts=${state}/prefs.d`,
    "-o",
    `APT::Architecture=${arch}`,
    "-o",
    `APT::Architectures::=${arch}`,
    "-o",
    "APT::Install-Recommends=false",
    "-o",
    `Debug::NoLocking=true`,
    ...args,
  ];
}

/** The first `E:` line of apt's output, or its last line. */
function aptError(stderr: string): string {
  const lines = stderr.trim().split("\n");
  return (lines.find((l) => l.startsWith("E:")) ?? lines[lines.length - 1] ?? "").replace(
    /^E:\s*/,
    "",
  );
}

function isDir(p: string): boolean {
  try {
    return Deno.statSync(p).isDirectory;
  } catch {
    return false;
  }
}

/** Builds (or tops up) the sysroot; returns how many packages were unpacked this time. */
export async function createSysroot(opts: CreateOptions, retried = false): Promise<number> {
  const say = opts.progress ?? ((l: string) => console.error(`sysroot: ${l}`));
  const suite = opts.suite ?? "bookworm";
  const arch = opts.arch ?? "arm64";
  if (!(SYSROOT_ARCHES as readonly string[]).includes(arch)) {
    throw new ElfuseError(
      `sysroot create: unknown architecture '${arch}' (use ${SYSROOT_ARCHES.join(" or ")})`,
      2,
    );
  }
  const base = opts.only || arch !== "arm64" ? [] : BASE_PACKAGES;
  const packages = [...new Set([...base, ...opts.packages])];
  const MERGED = MERGED_BY_ARCH[arch];
  const dir = opts.dir.replace(/\/+$/, "") || "/";
  try {
    if (!Deno.statSync(dir).isDirectory) {
      throw new ElfuseError(`sysroot create: ${dir} is not a directory`, 2);
    }
  } catch (e) {
    if (e instanceof ElfuseError) throw e;
    Deno.mkdirSync(dir, { recursive: true });
  }
  const bad = packages.find((p) => !/^[a-z0-9][a-z0-9+.-]*$/.test(p));
  if (bad !== undefined) throw new ElfuseError(`sysroot create: '${bad}' is not a package name`, 2);
  const root = Deno.realPathSync(dir);
  // arm64 keeps the state directory it always had; another architecture gets its own.
  const state = arch === "arm64" ? `${root}/.elfuse/apt` : `${root}/.elfuse/apt-${arch}`;
  const debs = `${root}/.elfuse/debs`;
  for (const d of [`${state}/lists/partial`, `${state}/cache/archives/partial`, debs]) {
    Deno.mkdirSync(d, { recursive: true });
  }
  Deno.mkdirSync(`${state}/prefs.d`, { recursive: true });
  // apt drops to the _apt user to download: it must be able to enter and write these.
  for (const d of [`${root}/.elfuse`, state, debs, `${state}/lists`, `${state}/lists/partial`]) {
    Deno.chmodSync(d, 0o777);
  }
  if (!exists(KEYRING)) {
    throw new ElfuseError(
      `sysroot create: ${KEYRING} is missing: apt-get install debian-archive-keyring`,
      1,
    );
  }
  Deno.writeTextFileSync(`${state}/status`, "", { append: true });
  Deno.writeTextFileSync(
    `${state}/sources.list`,
    `deb [signed-by=${KEYRING}] http://deb.debian.org/debian ${suite} main\n`,
  );
  const apt = (args: string[], cwd?: string) => command("apt-get", aptArgs(state, args, arch), cwd);

  const stamp = `${state}/.updated-${suite}`;
  const update = async () => {
    say(`fetching the ${suite} ${arch} package lists`);
    const r = await apt(["update"]);
    if (!r.ok) {
      throw new ElfuseError(
        `sysroot create: apt-get update failed (check that deb.debian.org is reachable and ` +
          `--suite ${suite} exists): ${aptError(r.stderr)}`,
        1,
      );
    }
    Deno.writeTextFileSync(stamp, "");
  };
  if (listsStale(stamp, Date.now())) await update();

  say(`resolving ${packages.join(" ")}`);
  const sim = await apt(["-s", "install", ...packages]);
  if (!sim.ok) {
    const msg = aptError(sim.stderr);
    const unknown = /Unable to locate package (\S+)/.exec(msg);
    throw new ElfuseError(
      unknown
        ? `sysroot create: unknown package '${unknown[1]}' in ${suite} (${arch}): check ` +
          `its name (apt-cache search), or use another --suite`
        : `sysroot create: cannot resolve the packages (drop or change one): ${msg}`,
      1,
    );
  }
  // What is unpacked is recorded as NAME=VERSION (arm64, as always) or NAME:ARCH=VERSION.
  const tag = arch === "arm64" ? "" : `:${arch}`;
  const wanted = [...sim.stdout.matchAll(/^Inst (\S+) \((\S+)/gm)].map((m) => ({
    name: m[1],
    version: m[2],
    key: `${m[1]}${tag}=${m[2]}`,
  }));
  const doneFile = `${root}/.elfuse/unpacked`;
  let done = new Set<string>();
  try {
    done = new Set(Deno.readTextFileSync(doneFile).split("\n").filter(Boolean));
  } catch {
    // first run
  }
  const todo = wanted.filter((p) => !done.has(p.key));
  if (todo.length === 0) {
    await configure(root, debs, done, say);
    say(`up to date (${wanted.length} packages)`);
    return 0;
  }
  const have = () => new Set([...Deno.readDirSync(debs)].map((e) => e.name));
  const missing = () => {
    const h = have();
    return todo.filter((p) => debFileName(p.name, p.version, arch).every((f) => !h.has(f)));
  };
  const fetch = missing();
  if (fetch.length) {
    say(`downloading ${fetch.length} of ${wanted.length} packages`);
    const r = await apt(["download", ...fetch.map((p) => `${p.name}=${p.version}`)], debs);
    if (!r.ok) {
      if (retried) {
        throw new ElfuseError(
          `sysroot create: download failed (check that deb.debian.org is reachable, then run ` +
            `it again): ${aptError(r.stderr)}`,
          1,
        );
      }
      // A version the mirror no longer has (lists from before its last update): fetch the
      // lists again and resolve once more.
      await update();
      return await createSysroot({ ...opts, only: true, packages }, true);
    }
  }
  for (const m of MERGED) {
    Deno.mkdirSync(`${root}/usr/${m}`, { recursive: true });
    if (!isDir(`${root}/${m}`)) Deno.symlinkSync(`usr/${m}`, `${root}/${m}`);
  }
  const files = have();
  let n = 0;
  for (const p of todo) {
    // By exact version: an older .deb of the same package may still be in the cache.
    const deb = debFileName(p.name, p.version, arch).find((f) => files.has(f));
    if (deb === undefined) {
      throw new ElfuseError(
        `sysroot create: ${p.name} ${p.version} was not downloaded (run it again)`,
        1,
      );
    }
    say(`unpacking ${++n}/${todo.length} ${p.name}`);
    await unpack(`${debs}/${deb}`, root, MERGED);
    done.add(p.key);
    Deno.writeTextFileSync(doneFile, [...done].join("\n") + "\n");
  }
  await configure(root, debs, done, say);
  say(`done: ${wanted.length} packages in ${root}`);
  return todo.length;
}

function exists(p: string): boolean {
  try {
    Deno.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** True when the lists were never fetched, or were fetched more than a day before `now`. */
export function listsStale(stamp: string, now: number): boolean {
  try {
    const t = Deno.statSync(stamp).mtime?.getTime();
    return t === undefined || now - t > LISTS_MAX_AGE_MS;
  } catch {
    return true;
  }
}

/**
 * The names apt-get download gives a package's file: NAME_VERSION_ARCH.deb with the version's
 * epoch colon URL-encoded (1:5.2.1-2 -> 1%3a5.2.1-2); ARCH is the sysroot's or `all`.
 */
export function debFileName(name: string, version: string, arch: string): string[] {
  const v = version.replace(/:/g, "%3a");
  return [`${name}_${v}_${arch}.deb`, `${name}_${v}_all.deb`];
}

/**
 * The maintainer scripts' work a guest notices (debian_base.ts): users and groups, alternatives
 * links, the CA bundle. Each unpacked package's alternatives are read from its postinst once and
 * kept in .elfuse/alternatives.json.
 */
async function configure(
  root: string,
  debs: string,
  unpacked: Set<string>,
  say: (l: string) => void,
): Promise<void> {
  const recordFile = `${root}/.elfuse/alternatives.json`;
  let records: Record<string, Alternative[]> = {};
  try {
    records = JSON.parse(Deno.readTextFileSync(recordFile));
  } catch { /* none yet */ }
  const files = [...Deno.readDirSync(debs)].map((e) => e.name);
  for (const key of unpacked) {
    if (key in records) continue;
    const [name, version] = key.split("=");
    const deb = files.find((f) => f.startsWith(`${name}_${version.replace(/:/g, "%3a")}_`));
    if (deb === undefined) continue;
    // dpkg-deb -I DEB postinst prints the script; a package without one exits non-zero.
    const r = await command("dpkg-deb", ["-I", `${debs}/${deb}`, "postinst"]);
    records[key] = r.ok ? parseAlternatives(r.stdout) : [];
  }
  for (const key of Object.keys(records)) if (!unpacked.has(key)) delete records[key];
  Deno.writeTextFileSync(recordFile, JSON.stringify(records));
  applyBasePasswd(root);
  const n = applyAlternatives(root, Object.values(records).flat());
  const ca = applyCaCertificates(root);
  say(`configured: ${n} alternatives${ca ? ", the CA bundle" : ""}`);
}

/** dpkg-deb -x into a staging directory, then merged into the root with /bin etc. under /usr. */
async function unpack(deb: string, root: string, MERGED: string[]): Promise<void> {
  const stage = `${root}/.elfuse/stage`;
  try {
    Deno.removeSync(stage, { recursive: true }); // left over from an interrupted run
  } catch {
    // none
  }
  Deno.mkdirSync(stage, { recursive: true });
  const x = await command("dpkg-deb", ["-x", deb, stage]);
  if (!x.ok) throw new ElfuseError(`sysroot create: dpkg-deb -x ${deb}: ${x.stderr.trim()}`, 1);
  for (const e of Deno.readDirSync(stage)) {
    const dest = MERGED.includes(e.name) ? `${root}/usr/${e.name}` : `${root}/${e.name}`;
    if (e.isDirectory) {
      Deno.mkdirSync(dest, { recursive: true });
      const r = await command("cp", ["-a", `${stage}/${e.name}/.`, `${dest}/`]);
      if (!r.ok) throw new ElfuseError(`sysroot create: copying ${e.name}: ${r.stderr.trim()}`, 1);
    } else {
      const r = await command("cp", ["-a", `${stage}/${e.name}`, dest]);
      if (!r.ok) throw new ElfuseError(`sysroot create: copying ${e.name}: ${r.stderr.trim()}`, 1);
    }
  }
  Deno.removeSync(stage, { recursive: true });
}
