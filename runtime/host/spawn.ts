// Starting host processes: posix_spawn with exactly the fds a child should have, and the command
// line that runs this elfuse again (`deno run -A cli.ts ...` or a compiled binary).
import { libc, type Scratch } from "./libc.ts";
import { V8_FLAGS_ARG } from "../v8_flags.ts";

const enc = new TextEncoder();

/** The command line that runs this elfuse again with internal `args` (deno run or compiled). */
export function selfCommand(args: string[]): string[] {
  // A remote main module (`deno install -g` of the package runs jsr:/https: URLs) is run again
  // by its URL, from Deno's cache.
  const main = Deno.mainModule.startsWith("file:")
    ? new URL(Deno.mainModule).pathname
    : Deno.mainModule;
  const self = Deno.execPath();
  const viaDeno = !main.endsWith(self) && /\/deno(\.exe)?$/.test(self);
  // (A compiled binary has the V8 flags built in: tools/compile.ts.)
  return viaDeno ? [self, "run", "-A", V8_FLAGS_ARG, main, ...args] : [self, ...args];
}

function cStrings(s: Scratch, strings: string[], at: number, end: number): number {
  // An argv-style array in scratch: pointers first, then the strings.
  let str = at + (strings.length + 1) * 8;
  strings.forEach((x, i) => {
    const bytes = enc.encode(x + "\0");
    if (str + bytes.length > end) throw new Error("spawn: arguments and environment too long");
    s.u8.set(bytes, str);
    s.view.setBigUint64(at + i * 8, BigInt(s.address + str), true);
    str += bytes.length;
  });
  s.view.setBigUint64(at + strings.length * 8, 0n, true);
  return s.address + at;
}

/**
 * posix_spawn of a host program that inherits exactly the fds in `fds` ([ours, its number]; a
 * dup2 onto the same number clears FD_CLOEXEC, glibc >= 2.29), using 128 KiB of `s` from `base`.
 * `resetSignals` gives it default dispositions and an empty mask; `closeFrom` closes every fd
 * from that number on in the child. Returns its pid or -errno.
 */
export function spawnHost(
  s: Scratch,
  base: number,
  path: string,
  argv: string[],
  fds: [number, number][],
  resetSignals = false,
  closeFrom = -1,
): number {
  // Layout from base: file actions, pid, path, attributes, two sigsets, argv, envp.
  const ACTIONS = base, PID = base + 0x100, PATH = base + 0x200, ATTR = base + 0x600;
  const SIGDEF = base + 0x800, SIGMASK = base + 0x880, ARGV = base + 0x1000, ENVP = base + 0x4000;
  const END = base + 0x2_0000;
  const actions = s.address + ACTIONS; // posix_spawn_file_actions_t (80 bytes on glibc)
  const attr = s.address + ATTR; // posix_spawnattr_t (336 bytes on glibc)
  libc.posix_spawn_file_actions_init(actions);
  for (const [from, to] of fds) libc.posix_spawn_file_actions_adddup2(actions, from, to);
  // Close-on-exec fds are only closed after the exec has let the parent go on (the exec's new
  // memory map releases a vfork parent first), so for a moment the child still holds the
  // parent's pipes: a guest could see a reader that is not there. Closing them before the exec
  // removes that window.
  const closefrom = libc.posix_spawn_file_actions_addclosefrom_np as
    | ((actions: number, from: number) => number)
    | null;
  if (closeFrom >= 0) closefrom?.(actions, closeFrom);
  if (resetSignals) {
    libc.posix_spawnattr_init(attr);
    s.u8.fill(0xff, SIGDEF, SIGDEF + 0x80); // sigfillset
    libc.posix_spawnattr_setsigdefault(attr, s.address + SIGDEF);
    s.u8.fill(0, SIGMASK, SIGMASK + 0x80); // sigemptyset
    libc.posix_spawnattr_setsigmask(attr, s.address + SIGMASK);
    libc.posix_spawnattr_setflags(attr, 0x04 | 0x08); // POSIX_SPAWN_SETSIGDEF | SETSIGMASK
  }
  const argvp = cStrings(s, argv, ARGV, ENVP);
  const env = Object.entries(Deno.env.toObject()).map(([a, b]) => `${a}=${b}`);
  const envp = cStrings(s, env, ENVP, END);
  const r = enc.encodeInto(path, s.u8.subarray(PATH, PATH + 0x3ff));
  s.u8[PATH + r.written] = 0;
  const err = libc.posix_spawn(
    s.address + PID,
    s.address + PATH,
    actions,
    resetSignals ? attr : 0,
    argvp,
    envp,
  );
  libc.posix_spawn_file_actions_destroy(actions);
  if (resetSignals) libc.posix_spawnattr_destroy(attr);
  return err !== 0 ? -err : s.view.getInt32(PID, true);
}
