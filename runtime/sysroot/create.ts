// `elfuse sysroot create DIR PACKAGE...`: a sysroot from Debian arm64 packages and everything they
// depend on. apt-get resolves and downloads through a private state directory under DIR/.elfuse
// (the system's apt sources and dpkg architectures are never touched); dpkg-deb -x unpacks each
// package, and top-level /bin, /sbin, /lib are folded into /usr as on a merged-/usr system.
// `--arch amd64` adds x86-64 packages (libraries for x86-64 programs run through box64) with a
// state directory of their own, so one sysroot can hold both.
import { ElfuseError } from "../errors.ts";

export interface CreateOptions {
  dir: string;
  packages: string[];
  /** Debian suite (default bookworm). */
  suite?: string;
  /** Debian architecture of the packages (default arm64; amd64 for x86-64 libraries). */
  arch?: string;
  /** Progress lines (default: stderr). */
  progress?: (line: string) => void;
}

/** The architectures a sysroot's packages may have: the guest's, and x86-64 for box64's programs. */
export const ARCHES = ["arm64", "amd64"];

/** Top-level directories that are symlinks into /usr on a merged-/usr system. */
const MERGED = ["bin", "sbin", "lib"];
const KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg";

async function command(cmd: string, args: string[], cwd?: string) {
  let out;
  try {
    out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch {
    throw new ElfuseError(`sysroot create: ${cmd} not found (it needs apt-get and dpkg-deb)`, 1);
  }
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** apt-get with a private state directory; `arch` is its only architecture. */
function aptArgs(state: string, args: string[], arch: string): string[] {
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
export async function createSysroot(opts: CreateOptions): Promise<number> {
  const say = opts.progress ?? ((l: string) => console.error(`sysroot: ${l}`));
  const suite = opts.suite ?? "bookworm";
  const arch = opts.arch ?? "arm64";
  if (!ARCHES.includes(arch)) {
    throw new ElfuseError(
      `sysroot create: architecture '${arch}' (choose ${ARCHES.join(" or ")})`,
      2,
    );
  }
  const dir = opts.dir.replace(/\/+$/, "") || "/";
  try {
    if (!Deno.statSync(dir).isDirectory) {
      throw new ElfuseError(`sysroot create: ${dir} is not a directory`, 2);
    }
  } catch (e) {
    if (e instanceof ElfuseError) throw e;
    Deno.mkdirSync(dir, { recursive: true });
  }
  const bad = opts.packages.find((p) => !/^[a-z0-9][a-z0-9+.-]*$/.test(p));
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
  Deno.writeTextFileSync(`${state}/status`, "", { append: true });
  Deno.writeTextFileSync(
    `${state}/sources.list`,
    `deb [signed-by=${KEYRING}] http://deb.debian.org/debian ${suite} main\n`,
  );
  const apt = (args: string[], cwd?: string) => command("apt-get", aptArgs(state, args, arch), cwd);

  const stamp = `${state}/.updated-${suite}`;
  try {
    Deno.statSync(stamp);
  } catch {
    say(`fetching the ${suite} ${arch} package lists`);
    const r = await apt(["update"]);
    if (!r.ok) {
      throw new ElfuseError(`sysroot create: apt-get update failed: ${aptError(r.stderr)}`, 1);
    }
    Deno.writeTextFileSync(stamp, "");
  }

  say(`resolving ${opts.packages.join(" ")}`);
  const sim = await apt(["-s", "install", ...opts.packages]);
  if (!sim.ok) {
    const msg = aptError(sim.stderr);
    const unknown = /Unable to locate package (\S+)/.exec(msg);
    throw new ElfuseError(
      unknown
        ? `sysroot create: unknown package '${unknown[1]}' in ${suite} (${arch})`
        : `sysroot create: cannot resolve the packages: ${msg}`,
      1,
    );
  }
  // What is unpacked is recorded as name=version (arm64, as always) or name:arch=version.
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
    say(`up to date (${wanted.length} packages)`);
    return 0;
  }
  // A package's .deb: NAME_VERSION_ARCH.deb, for this architecture or for all.
  const debOf = (files: string[], name: string) =>
    files.find((f) =>
      f.startsWith(`${name}_`) && (f.endsWith(`_${arch}.deb`) || f.endsWith("_all.deb"))
    );
  const have = [...Deno.readDirSync(debs)].map((e) => e.name);
  const fetch = todo.filter((p) => debOf(have, p.name) === undefined);
  if (fetch.length) {
    say(`downloading ${fetch.length} of ${wanted.length} packages`);
    const r = await apt(["download", ...fetch.map((p) => `${p.name}=${p.version}`)], debs);
    if (!r.ok) throw new ElfuseError(`sysroot create: download failed: ${aptError(r.stderr)}`, 1);
  }
  for (const m of MERGED) {
    Deno.mkdirSync(`${root}/usr/${m}`, { recursive: true });
    if (!isDir(`${root}/${m}`)) Deno.symlinkSync(`usr/${m}`, `${root}/${m}`);
  }
  const files = [...Deno.readDirSync(debs)].map((e) => e.name);
  let n = 0;
  for (const p of todo) {
    const deb = debOf(files, p.name);
    if (deb === undefined) throw new ElfuseError(`sysroot create: ${p.name} was not downloaded`, 1);
    say(`unpacking ${++n}/${todo.length} ${p.name}`);
    await unpack(`${debs}/${deb}`, root);
    done.add(p.key);
    Deno.writeTextFileSync(doneFile, [...done].join("\n") + "\n");
  }
  say(`done: ${wanted.length} packages in ${root}`);
  return todo.length;
}

/** dpkg-deb -x into a staging directory, then merged into the root with /bin etc. under /usr. */
async function unpack(deb: string, root: string): Promise<void> {
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
