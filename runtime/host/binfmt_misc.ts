/**
 * Linux binfmt_misc as it concerns aarch64 ELF programs: reading its entries, telling which claim
 * aarch64 programs, and registering, disabling and removing entries. Shared by `elfuse binfmt`
 * (runtime/binfmt.ts), the matrix (which must know whether qemu-user follows an execve) and the
 * CI helper that runs the tests with and without a registration (tools/binfmt_ci.ts).
 *
 * Every function takes the binfmt_misc directory as `root`, so tests point it at a temporary
 * directory that imitates one.
 *
 * @module
 */

/** Where binfmt_misc is normally mounted. */
export const BINFMT_ROOT = "/proc/sys/fs/binfmt_misc";

/** The magic and mask of an aarch64 ELF executable (those of Debian's qemu-user-binfmt). */
export const AARCH64_MAGIC = "7f454c460201010000000000000000000200b700";
/** The mask that goes with {@linkcode AARCH64_MAGIC}: ET_EXEC and ET_DYN both match. */
export const AARCH64_MASK = "ffffffffffffff00fffffffffffffffffeffffff";

/** The first 20 bytes of aarch64 ELF files: static (ET_EXEC) and PIE (ET_DYN). */
export const AARCH64_HEADERS: Uint8Array[] = [2, 3].map((type) => {
  const h = new Uint8Array(20);
  h.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  h[16] = type;
  h[18] = 0xb7;
  return h;
});

/** One entry of binfmt_misc, as the kernel shows it. */
export interface BinfmtEntry {
  /** The entry's file name under the binfmt_misc directory. */
  name: string;
  /** The entry is enabled (its first line says `enabled`). */
  enabled: boolean;
  /** The program the kernel runs instead, with the file's path as an argument. */
  interpreter?: string;
  /** Its flags: P (keep argv[0]), O (pass an open fd), C (credentials), F (fix the binary). */
  flags: string;
  /** Where in the file the magic starts. */
  offset: number;
  /** The bytes the file must start with at `offset` (a magic entry). */
  magic?: Uint8Array;
  /** Which bits of the magic count (all when absent). */
  mask?: Uint8Array;
}

function hexBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Parses an entry file (`enabled`, `interpreter X`, `flags: F`, `offset 0`, `magic …`). */
export function parseEntry(name: string, content: string): BinfmtEntry {
  const e: BinfmtEntry = { name, enabled: false, flags: "", offset: 0 };
  for (const line of content.split("\n")) {
    const [key, ...rest] = line.trim().split(/\s+/);
    const value = rest.join(" ");
    if (key === "enabled") e.enabled = true;
    else if (key === "interpreter") e.interpreter = value;
    else if (key === "flags:") e.flags = value;
    else if (key === "offset") e.offset = Number(value);
    else if (key === "magic") e.magic = hexBytes(value);
    else if (key === "mask") e.mask = hexBytes(value);
  }
  return e;
}

/** True when the entry claims aarch64 ELF files (static and PIE), enabled or not. */
export function matchesAarch64(e: BinfmtEntry): boolean {
  if (!e.magic) return false;
  const magic = e.magic;
  return AARCH64_HEADERS.every((h) => {
    for (let i = 0; i < magic.length; i++) {
      const at = e.offset + i;
      if (at >= h.length) return false;
      const m = e.mask ? e.mask[i] : 0xff;
      if ((h[at] & m) !== (magic[i] & m)) return false;
    }
    return true;
  });
}

/** What binfmt_misc looks like here. */
export interface BinfmtState {
  /** The binfmt_misc directory this state was read from. */
  root: string;
  /** binfmt_misc is mounted there. */
  mounted: boolean;
  /** The global `status` file says enabled. */
  enabled: boolean;
  /** Every entry, sorted by name. */
  entries: BinfmtEntry[];
}

/** Reads binfmt_misc's state under `root`. */
export async function readState(root = BINFMT_ROOT): Promise<BinfmtState> {
  let status: string;
  try {
    status = (await Deno.readTextFile(`${root}/status`)).trim();
  } catch {
    return { root, mounted: false, enabled: false, entries: [] };
  }
  const entries: BinfmtEntry[] = [];
  for await (const d of Deno.readDir(root)) {
    if (d.name === "status" || d.name === "register") continue;
    try {
      entries.push(parseEntry(d.name, await Deno.readTextFile(`${root}/${d.name}`)));
    } catch {
      // An entry removed while we read: ignore it.
    }
  }
  entries.sort((a, b) => a.name.localeCompare(b.name));
  return { root, mounted: true, enabled: status === "enabled", entries };
}

/** The enabled entries that claim aarch64 programs. */
export function aarch64Entries(state: BinfmtState): BinfmtEntry[] {
  return state.entries.filter((e) => e.enabled && matchesAarch64(e));
}

/** One line that says what binfmt_misc does with aarch64 programs, for reports and `status`. */
export function describeState(state: BinfmtState): string {
  if (!state.mounted) return `binfmt_misc is not mounted at ${state.root}`;
  if (!state.enabled) return `binfmt_misc is disabled (${state.root}/status)`;
  const all = state.entries.filter(matchesAarch64);
  if (all.length === 0) return "no binfmt_misc entry for aarch64 programs";
  return all.map((e) =>
    `${e.name} -> ${e.interpreter ?? "?"} (flags ${e.flags || "none"}${
      e.enabled ? "" : ", disabled"
    })`
  ).join("; ");
}

/**
 * The line written to `register` to hand aarch64 ELF files to `interpreter` under `name`, with
 * `flags` (a string of P, O, C and F).
 *
 * @example
 * ```ts
 * registrationLine("qemu-aarch64", "/usr/libexec/qemu-binfmt/aarch64-binfmt-P", "P");
 * // ":qemu-aarch64:M::\x7f\x45...:\xff\xff...:/usr/libexec/qemu-binfmt/aarch64-binfmt-P:P"
 * ```
 */
export function registrationLine(name: string, interpreter: string, flags: string): string {
  if (!/^[\w.+-]+$/.test(name)) throw new Error(`bad binfmt_misc entry name '${name}'`);
  if (!/^[POCF]*$/.test(flags)) throw new Error(`bad binfmt_misc flags '${flags}'`);
  if (interpreter.includes(":") || !interpreter.startsWith("/")) {
    throw new Error(
      `a binfmt_misc interpreter is an absolute path without ':', not '${interpreter}'`,
    );
  }
  const esc = (hex: string) => hex.replace(/(..)/g, "\\x$1");
  return `:${name}:M::${esc(AARCH64_MAGIC)}:${esc(AARCH64_MASK)}:${interpreter}:${flags}`;
}

/** Registers an entry for aarch64 programs (root only; binfmt_misc mounted). */
export async function registerAarch64(
  root: string,
  name: string,
  interpreter: string,
  flags: string,
): Promise<void> {
  await Deno.writeTextFile(`${root}/register`, registrationLine(name, interpreter, flags));
}

/** Enables or disables one entry (`1` or `0` written to its file). */
export async function setEntryEnabled(root: string, name: string, on: boolean): Promise<void> {
  await Deno.writeTextFile(`${root}/${name}`, on ? "1" : "0");
}

/** Removes one entry (`-1` written to its file). */
export async function removeEntry(root: string, name: string): Promise<void> {
  await Deno.writeTextFile(`${root}/${name}`, "-1");
}

/** Mounts binfmt_misc at `root` (root only); throws with mount's message when it fails. */
export async function mountBinfmt(root = BINFMT_ROOT): Promise<void> {
  const r = await new Deno.Command("mount", {
    args: ["-t", "binfmt_misc", "binfmt_misc", root],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `mount -t binfmt_misc failed: ${new TextDecoder().decode(r.stderr).trim() || r.code}`,
    );
  }
}

/** Unmounts binfmt_misc from `root`. */
export async function unmountBinfmt(root = BINFMT_ROOT): Promise<void> {
  const r = await new Deno.Command("umount", { args: [root], stdout: "null", stderr: "piped" })
    .output();
  if (!r.success) {
    throw new Error(`umount ${root} failed: ${new TextDecoder().decode(r.stderr).trim()}`);
  }
}
