// `deno run -A tools/binfmt_ci.ts STATE -- COMMAND [ARGS...]`: runs COMMAND with binfmt_misc in a
// given state for aarch64 programs, then puts back exactly what it found (entries enabled or
// disabled as they were, ours removed, binfmt_misc unmounted if it was not mounted), also when
// COMMAND fails or the run is interrupted. CI (.ci/run) runs the tests once in each state, since
// whether qemu-user follows an execve changes the matrix's reference (docs/matrix.md).
//
// STATE:
//   none       no enabled entry claims aarch64 programs (others are disabled meanwhile)
//   qemu       qemu-aarch64 registered as Debian's qemu-user-binfmt does (its
//              /usr/share/binfmts/qemu-aarch64, else qemu-aarch64 with flag P)
//   qemu-no-p  the same without flag P: programs qemu-user execs lose their argv[0]
//   status     print the state and exit
//
// Changing binfmt_misc needs root. Without root a state that needs a change is skipped with a
// message (exit status 0), so a developer's `.ci/run` still runs what it can.
import {
  aarch64Entries,
  BINFMT_ROOT,
  type BinfmtState,
  describeState,
  mountBinfmt,
  readState,
  registerAarch64,
  removeEntry,
  setEntryEnabled,
  unmountBinfmt,
} from "../runtime/host/binfmt_misc.ts";

/** The name our temporary registration goes by (removed again before we exit). */
export const CI_ENTRY = "elfuse-ci-qemu-aarch64";

/** How Debian's qemu-user-binfmt registers qemu-aarch64: interpreter and flags. */
export function debianRegistration(
  binfmtsFile: string | null,
  qemu: string | null,
): { interpreter: string; flags: string } | null {
  if (binfmtsFile !== null) {
    const field = (k: string) => new RegExp(`^${k}\\s+(\\S+)`, "m").exec(binfmtsFile)?.[1];
    const interpreter = field("interpreter");
    if (interpreter) {
      const flags = (field("preserve") === "yes" ? "P" : "") +
        (field("credentials") === "yes" ? "C" : "") +
        (field("fix_binary") === "yes" ? "F" : "");
      return { interpreter, flags };
    }
  }
  return qemu ? { interpreter: qemu, flags: "P" } : null;
}

function which(name: string): string | null {
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${name}`).isFile) return `${dir}/${name}`;
    } catch {
      // Not here.
    }
  }
  return null;
}

function readOr(path: string): string | null {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return null;
  }
}

/** What we changed, so that `restore` puts it back. */
interface Changes {
  mounted: boolean;
  disabled: string[];
  registered: string[];
}

/**
 * Undoes `c`, removes entries the command left behind that were not there before, and unmounts
 * binfmt_misc if it was not mounted before (the command may have mounted it itself).
 */
async function restore(root: string, c: Changes, before: BinfmtState): Promise<string[]> {
  const problems: string[] = [];
  const attempt = async (what: string, f: () => Promise<void>) => {
    try {
      await f();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
    }
  };
  const now = await readState(root);
  const had = new Set(before.entries.map((e) => e.name));
  const leftovers = now.entries.map((e) => e.name).filter((n) =>
    !had.has(n) && !c.registered.includes(n)
  );
  for (const name of [...c.registered, ...leftovers]) {
    await attempt(`remove ${name}`, () => removeEntry(root, name));
  }
  for (const name of c.disabled) {
    await attempt(`enable ${name}`, () => setEntryEnabled(root, name, true));
  }
  if (c.mounted || (!before.mounted && now.mounted)) {
    await attempt("unmount", () => unmountBinfmt(root));
  }
  c.registered = [];
  c.disabled = [];
  c.mounted = false;
  return problems;
}

const say = (s: string) => console.error(`binfmt_ci: ${s}`);

/** Shell-style exit statuses for a command killed by a signal. */
const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15,
};

async function main(args: string[]): Promise<number> {
  const root = Deno.env.get("ELFUSE_BINFMT_ROOT") ?? BINFMT_ROOT;
  const [state, dashes, ...command] = args;
  if (state === "status") {
    say(describeState(await readState(root)));
    return 0;
  }
  if (!["none", "qemu", "qemu-no-p"].includes(state ?? "") || dashes !== "--" || !command.length) {
    console.error(
      "usage: deno run -A tools/binfmt_ci.ts none|qemu|qemu-no-p -- COMMAND [ARGS...]\n" +
        "       deno run -A tools/binfmt_ci.ts status",
    );
    return 2;
  }
  const before = await readState(root);
  say(`found: ${describeState(before)}`);
  const wanted = state === "none" ? null : debianRegistration(
    readOr("/usr/share/binfmts/qemu-aarch64"),
    which("qemu-aarch64") ?? which("qemu-aarch64-static"),
  );
  if (state !== "none" && wanted === null) {
    say(`skipped ${state}: no qemu-aarch64 installed (apt-get install qemu-user)`);
    return 0;
  }
  const flags = state === "qemu-no-p" ? wanted!.flags.replace("P", "") : wanted?.flags ?? "";
  const toDisable = aarch64Entries(before).map((e) => e.name);
  const needsChange = state === "none" ? toDisable.length > 0 : true;
  if (needsChange && Deno.uid() !== 0) {
    say(`skipped ${state}: changing binfmt_misc needs root`);
    return 0;
  }

  const changes: Changes = { mounted: false, disabled: [], registered: [] };
  let child: Deno.ChildProcess | undefined;
  let signalled: Deno.Signal | undefined;
  const onSignal = (sig: Deno.Signal) => () => {
    signalled = sig;
    try {
      child?.kill(sig);
    } catch {
      // Already gone: restore happens when its status arrives.
    }
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  const listeners = signals.map((s) => [s, onSignal(s)] as const);
  for (const [s, f] of listeners) Deno.addSignalListener(s, f);
  let code = 1;
  try {
    if (state !== "none" && !before.mounted) {
      await mountBinfmt(root);
      changes.mounted = true;
    }
    for (const name of toDisable) {
      await setEntryEnabled(root, name, false);
      changes.disabled.push(name);
    }
    if (wanted) {
      await registerAarch64(root, CI_ENTRY, wanted.interpreter, flags);
      changes.registered.push(CI_ENTRY);
    }
    say(`running with: ${describeState(await readState(root))}`);
    child = new Deno.Command(command[0], { args: command.slice(1) }).spawn();
    const status = await child.status;
    code = status.signal ? 128 + (SIGNAL_NUMBERS[status.signal] ?? 1) : status.code;
  } catch (e) {
    say(`${(e as Error).message}`);
    code = 1;
  } finally {
    const problems = await restore(root, changes, before);
    for (const [s, f] of listeners) Deno.removeSignalListener(s, f);
    const after = await readState(root);
    say(`restored: ${describeState(after)}`);
    if (after.mounted !== before.mounted || describeState(after) !== describeState(before)) {
      problems.push(`binfmt_misc is not as it was (${describeState(before)})`);
    }
    for (const p of problems) say(`could not restore: ${p}`);
    if (problems.length) code = code || 1;
  }
  if (signalled) say(`interrupted by ${signalled}`);
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
