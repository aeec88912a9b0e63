/**
 * What a report needs to say about where it was made: elfuse's commit, the versions of Deno,
 * libunicorn and qemu-user, the host, and what binfmt_misc does with aarch64 programs. Shared by
 * the matrix's reports and the benchmarks'. Each probe that fails says so in its field instead of
 * failing the run.
 *
 * @module
 */

import { describeState, readState } from "../runtime/host/binfmt_misc.ts";

/** Where a run was made, as reports show it. Every field is one line of text. */
export interface Environment {
  /** elfuse's version and commit, with `+modified` when tracked files differ from it. */
  elfuse: string;
  /** `deno X (v8 Y, typescript Z)`. */
  deno: string;
  /** The libunicorn elfuse loads: version and path, or why none loads. */
  libunicorn: string;
  /** `qemu-aarch64 --version`'s first line, or "not installed". */
  qemu: string;
  /** OS, release, architecture, CPUs and the host's name. */
  host: string;
  /** What binfmt_misc does with aarch64 programs (matrix/binfmt.ts says why it matters). */
  binfmt: string;
}

/** The labels reports print before each field, in order. */
export const ENVIRONMENT_LABELS: Record<keyof Environment, string> = {
  elfuse: "elfuse",
  deno: "Deno",
  libunicorn: "libunicorn",
  qemu: "qemu-user",
  host: "host",
  binfmt: "binfmt_misc",
};

async function output(cmd: string, args: string[], cwd?: string): Promise<string | null> {
  try {
    const r = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "null" })
      .output();
    return r.success ? new TextDecoder().decode(r.stdout).trim() : null;
  } catch {
    return null;
  }
}

async function elfuseVersion(repo: string): Promise<string> {
  let version = "?";
  try {
    const m = /"version":\s*"([^"]+)"/.exec(await Deno.readTextFile(`${repo}/deno.json`));
    if (m) version = m[1];
  } catch {
    // No deno.json: the version stays unknown.
  }
  const commit = await output("git", ["rev-parse", "--short=12", "HEAD"], repo);
  if (commit === null) return `${version} (not a git checkout)`;
  const dirty = await output("git", ["status", "--porcelain", "--untracked-files=no"], repo);
  const branch = await output("git", ["rev-parse", "--abbrev-ref", "HEAD"], repo);
  return `${version}, commit ${commit}${dirty ? "+modified" : ""}${
    branch && branch !== "HEAD" ? ` (${branch})` : ""
  }`;
}

async function libunicornVersion(): Promise<string> {
  try {
    const { openUnicorn } = await import("../runtime/backends/unicorn/ffi.ts");
    const { lib, path } = openUnicorn();
    const v = lib.uc_version(0, 0);
    return `${v >>> 24}.${(v >>> 16) & 0xff}.${(v >>> 8) & 0xff} (${path})`;
  } catch (e) {
    return `not loaded: ${(e as Error).message.split("\n")[0]}`;
  }
}

async function hostLine(): Promise<string> {
  let distro = "";
  try {
    const os = await Deno.readTextFile("/etc/os-release");
    distro = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(os)?.[1] ?? "";
  } catch {
    // Not Linux, or no os-release.
  }
  let name = "";
  try {
    name = Deno.hostname();
  } catch {
    // Not allowed: leave it out.
  }
  return [
    `${Deno.build.os}/${Deno.build.arch}`,
    `kernel ${Deno.osRelease()}`,
    distro,
    `${navigator.hardwareConcurrency} CPUs`,
    name ? `host ${name}` : "",
  ].filter(Boolean).join(", ");
}

/**
 * Probes everything {@linkcode Environment} holds. `qemu` is the qemu-aarch64 binary to ask
 * (null: none installed).
 *
 * @example
 * ```ts
 * const env = await collectEnvironment("/work/main", "/usr/bin/qemu-aarch64");
 * console.log(env.libunicorn); // "2.1.4 (/work/main/.tools/unicorn/sid/...)"
 * ```
 */
export async function collectEnvironment(repo: string, qemu: string | null): Promise<Environment> {
  const [elfuse, libunicorn, qemuVersion, host, binfmt] = await Promise.all([
    elfuseVersion(repo),
    libunicornVersion(),
    qemu ? output(qemu, ["--version"]) : Promise.resolve(null),
    hostLine(),
    Deno.build.os === "linux"
      ? readState().then(describeState)
      : Promise.resolve("not Linux: no binfmt_misc"),
  ]);
  return {
    elfuse,
    deno: `${Deno.version.deno} (v8 ${Deno.version.v8}, typescript ${Deno.version.typescript})`,
    libunicorn,
    qemu: qemu === null
      ? "not installed"
      : qemuVersion === null
      ? `${qemu} (--version failed)`
      : `${qemuVersion.split("\n")[0]} (${qemu})`,
    host,
    binfmt,
  };
}

/** The environment as `label: value` lines. */
export function environmentLines(env: Environment): string[] {
  return (Object.keys(ENVIRONMENT_LABELS) as (keyof Environment)[]).map((k) =>
    `${ENVIRONMENT_LABELS[k]}: ${env[k]}`
  );
}
