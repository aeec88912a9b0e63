/**
 * binfmt_misc for aarch64: whether the kernel hands aarch64 ELF files to an emulator (so that a
 * program under qemu-user can execve another aarch64 program), and registering qemu-aarch64 for
 * them where that is allowed (root, binfmt_misc mounted, no aarch64 entry yet).
 *
 * @module
 */

/** Where binfmt_misc is normally mounted. */
export const BINFMT_ROOT = "/proc/sys/fs/binfmt_misc";

/** The name the matrix registers its entry under. */
export const ENTRY_NAME = "qemu-aarch64";

/** The magic and mask of an aarch64 ELF executable (those of Debian's qemu-user-binfmt). */
export const AARCH64_MAGIC = "7f454c460201010000000000000000000200b700";
export const AARCH64_MASK = "ffffffffffffff00fffffffffffffffffeffffff";

/** The first 20 bytes of aarch64 ELF files: static (ET_EXEC) and PIE (ET_DYN). */
export const AARCH64_HEADERS: Uint8Array[] = [2, 3].map((type) =>
  Uint8Array.from([
    0x7f,
    0x45,
    0x4c,
    0x46,
    2,
    1,
    1,
    0,
    ...new Array(8).fill(0),
    type,
    0,
    0xb7,
    0,
  ])
);

/** One entry of binfmt_misc, as the kernel shows it. */
export interface BinfmtEntry {
  name: string;
  enabled: boolean;
  interpreter?: string;
  flags: string;
  offset: number;
  magic?: Uint8Array;
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

/** True when the entry claims aarch64 ELF files (static or PIE), enabled or not. */
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
  mounted: boolean;
  /** The global `status` file says enabled. */
  enabled: boolean;
  entries: BinfmtEntry[];
}

/** Reads binfmt_misc's state under `root`. */
export async function readState(root = BINFMT_ROOT): Promise<BinfmtState> {
  let status: string;
  try {
    status = (await Deno.readTextFile(`${root}/status`)).trim();
  } catch {
    return { mounted: false, enabled: false, entries: [] };
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
  return { mounted: true, enabled: status === "enabled", entries };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Whether aarch64 programs can execve aarch64 programs under qemu-user, and what was done. */
export interface BinfmtReport {
  /** True when aarch64 programs can execve aarch64 programs under qemu-user. */
  ok: boolean;
  /** Why not (when not ok), or what is in place (when ok). */
  message: string;
  /** True when this call registered the entry. */
  registered: boolean;
}

/** The line written to `register` to hand aarch64 ELF files to `qemu` (flag F: fix binary). */
export function registrationLine(qemu: string): string {
  const esc = (hex: string) => hex.replace(/(..)/g, "\\x$1");
  return `:${ENTRY_NAME}:M::${esc(AARCH64_MAGIC)}:${esc(AARCH64_MASK)}:${qemu}:F`;
}

/**
 * Makes sure the kernel runs aarch64 ELF files with an emulator: finds an enabled entry that
 * matches, or registers `qemu` as `qemu-aarch64` with flag F when allowed and absent.
 */
export async function ensureAarch64(
  opts: { qemu: string; root?: string; isRoot?: boolean },
): Promise<BinfmtReport> {
  const root = opts.root ?? BINFMT_ROOT;
  const state = await readState(root);
  if (!state.mounted) {
    return {
      ok: false,
      registered: false,
      message: `binfmt_misc is not mounted at ${root}, so qemu-user cannot follow execve`,
    };
  }
  if (!state.enabled) {
    return { ok: false, registered: false, message: `binfmt_misc is disabled (${root}/status)` };
  }
  for (const e of state.entries.filter(matchesAarch64)) {
    if (!e.enabled) continue;
    if (e.flags.includes("F") || (e.interpreter && await exists(e.interpreter))) {
      return {
        ok: true,
        registered: false,
        message: `binfmt_misc entry ${e.name} runs aarch64 programs with ${e.interpreter}`,
      };
    }
  }
  const clash = state.entries.find((e) => e.name === ENTRY_NAME);
  if (clash) {
    return {
      ok: false,
      registered: false,
      message: `binfmt_misc entry ${ENTRY_NAME} exists but is ${
        clash.enabled ? "unusable" : "disabled"
      }; not touching it`,
    };
  }
  const isRoot = opts.isRoot ?? Deno.uid() === 0;
  if (!isRoot) {
    return {
      ok: false,
      registered: false,
      message: "no binfmt_misc entry for aarch64, and only root may register one",
    };
  }
  try {
    await Deno.writeTextFile(`${root}/register`, registrationLine(opts.qemu));
  } catch (e) {
    return {
      ok: false,
      registered: false,
      message: `no binfmt_misc entry for aarch64, and registering one failed: ${
        (e as Error).message
      }`,
    };
  }
  return {
    ok: true,
    registered: true,
    message: `registered binfmt_misc entry ${ENTRY_NAME} -> ${opts.qemu} (flags F); ` +
      `remove it with: echo -1 > ${root}/${ENTRY_NAME}`,
  };
}
