// `elfuse binfmt install|uninstall|status`: registers elfuse itself with Linux binfmt_misc, so
// that an aarch64 program runs through elfuse whenever anything execs it (`./arm64-program` from
// any shell), as qemu-user-binfmt does for qemu.
//
// The entry is named `elfuse` and matches aarch64 ELF executables and PIEs (Debian's magic and
// mask for qemu-aarch64). Its interpreter is this checkout's tools/elfuse-binfmt, which runs
// ./elfuse. Flags: P only.
// - P (preserve argv[0]): the kernel passes the program's own argv[0], which elfuse then gives
//   it (-0). Without it busybox applets, which dispatch on argv[0], break.
// - not O (open-binary): elfuse reads the program by its path, so an execute-only file fails.
// - not C (credentials): setuid aarch64 programs would run elfuse, a Deno process, with raised
//   privileges. Without C they run with the caller's (a setuid bit is ignored).
// - not F (fix-binary): F opens the interpreter at registration, but ours is a script whose own
//   interpreter is looked up at each exec anyway; F would only hide a moved checkout until reboot.
import { ElfuseError } from "./errors.ts";
import {
  aarch64Entries,
  BINFMT_ROOT,
  describeState,
  mountBinfmt,
  readState,
  registerAarch64,
  removeEntry,
} from "./host/binfmt_misc.ts";

/** The entry's name under /proc/sys/fs/binfmt_misc. */
export const ENTRY = "elfuse";
/** Its flags (see the module's comment for why). */
export const FLAGS = "P";

const USAGE = "usage: elfuse binfmt install|uninstall|status";

const HELP = `${USAGE}

Registers elfuse with Linux binfmt_misc, so that an aarch64 Linux program runs through
elfuse whenever anything execs it (./arm64-program from any shell), as qemu-user-binfmt does
for qemu. install and uninstall need root; install mounts binfmt_misc when it is not mounted.

  install     register the entry "${ENTRY}" (flags ${FLAGS}: the program keeps its argv[0]); its
              interpreter is this checkout's tools/elfuse-binfmt, which runs ./elfuse
  uninstall   remove the entry
  status      what handles aarch64 programs now

The kernel tries the most recently registered entry first: after install, elfuse runs
aarch64 programs even where qemu-user-binfmt is installed, until uninstall.
`;

/** The interpreter registered: tools/elfuse-binfmt of this checkout. */
export function interpreterPath(): string {
  const url = new URL("../tools/elfuse-binfmt", import.meta.url);
  if (url.protocol !== "file:") {
    throw new ElfuseError("binfmt install works from a checkout of elfuse, not a compiled binary");
  }
  return decodeURIComponent(url.pathname);
}

/** Runs `elfuse binfmt ARGS`; returns the exit status. `root` is for tests. */
export async function binfmtMain(args: string[], root = BINFMT_ROOT): Promise<number> {
  const say = (line: string) => console.log(line);
  const [command, ...extra] = args;
  if (command === "-h" || command === "--help") {
    await Deno.stdout.write(new TextEncoder().encode(HELP));
    return 0;
  }
  if (!["install", "uninstall", "status"].includes(command ?? "") || extra.length) {
    throw new ElfuseError(
      command === undefined ? USAGE : `binfmt: unknown command '${args.join(" ")}' (${USAGE})`,
      2,
    );
  }
  if (Deno.build.os !== "linux") {
    throw new ElfuseError(`binfmt: binfmt_misc is Linux's; this is ${Deno.build.os}`);
  }
  let state = await readState(root);
  if (command === "status") {
    say(`binfmt_misc: ${describeState(state)}`);
    const ours = state.entries.find((e) => e.name === ENTRY);
    const first = aarch64Entries(state);
    say(
      ours === undefined
        ? `elfuse is not registered (elfuse binfmt install registers it)`
        : `elfuse is registered: ${ours.interpreter} (flags ${ours.flags || "none"})${
          ours.enabled ? "" : ", disabled"
        }`,
    );
    if (first.length > 1) {
      say(`several enabled entries claim aarch64 programs: the most recently registered wins`);
    }
    return 0;
  }
  if (Deno.uid() !== 0) {
    throw new ElfuseError(`binfmt ${command}: only root may change binfmt_misc (try sudo)`);
  }
  if (command === "uninstall") {
    if (!state.entries.some((e) => e.name === ENTRY)) {
      say(`binfmt_misc has no entry ${ENTRY}: nothing to remove`);
      return 0;
    }
    await removeEntry(root, ENTRY);
    say(`removed binfmt_misc entry ${ENTRY}; now: ${describeState(await readState(root))}`);
    return 0;
  }
  const interpreter = interpreterPath();
  try {
    Deno.statSync(interpreter);
  } catch {
    throw new ElfuseError(`binfmt install: ${interpreter} is missing`);
  }
  if (!state.mounted) {
    try {
      await mountBinfmt(root);
    } catch (e) {
      throw new ElfuseError(`binfmt install: ${(e as Error).message}`);
    }
    say(`mounted binfmt_misc at ${root}`);
    state = await readState(root);
  }
  const existing = state.entries.find((e) => e.name === ENTRY);
  if (existing?.interpreter === interpreter && existing.flags === FLAGS && existing.enabled) {
    say(`elfuse is already registered: ${interpreter} (flags ${FLAGS})`);
    return 0;
  }
  if (existing) await removeEntry(root, ENTRY); // another checkout's, or other flags
  try {
    await registerAarch64(root, ENTRY, interpreter, FLAGS);
  } catch (e) {
    throw new ElfuseError(`binfmt install: registering failed: ${(e as Error).message}`);
  }
  say(`registered binfmt_misc entry ${ENTRY}: aarch64 programs now run through ${interpreter}`);
  const others = aarch64Entries(await readState(root)).filter((e) => e.name !== ENTRY);
  if (others.length) {
    say(
      `note: ${others.map((e) => e.name).join(", ")} also claim aarch64 programs; elfuse's ` +
        `entry, registered last, is tried first`,
    );
  }
  return 0;
}
