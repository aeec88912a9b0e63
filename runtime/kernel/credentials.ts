// A guest process's user and group ids, emulated (docs/internals.md, "Credentials"): elfuse never
// changes its host process's credentials. They start as the host's, follow Linux's rules for
// setuid and friends (kernel/cred.c, kernel/sys.c), pass to fork children and survive execve.
// "Privileged" is an effective uid of 0 (CAP_SETUID, CAP_SETGID, CAP_KILL as root has them);
// finer capabilities are not modelled. Other guest processes of the run learn a process's ids
// from a small file per process in a run-wide directory, written only once they differ from
// the host's: kill checks them as Linux's kill_ok_by_cred does.
import { hostGroups, hostIds } from "../host/credentials.ts";
import { libc } from "../host/libc.ts";
import { E } from "./errno.ts";
import type { Runtime } from "./runtime.ts";

const AT_FDCWD = -100, AT_REMOVEDIR = 0x200;
const S_IFMT = 0o170000, S_IFDIR = 0o040000;

/** No change (-1 as a 32-bit id). */
const KEEP = 0xffffffff;
/** Linux's NGROUPS_MAX. */
export const NGROUPS_MAX = 65536;

/** The ids, JSON-safe (fork.ts Inherited). `groups` undefined: the host's. */
export interface CredState {
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  groups?: number[];
  /** The run-wide directory where changed ids are published (see publish). */
  registry: string;
}

/** The ids another process holds, as kill checks them. */
export interface PeerIds {
  uid: number;
  suid: number;
}

export class Credentials {
  uid: number;
  euid: number;
  suid: number;
  fsuid: number;
  gid: number;
  egid: number;
  sgid: number;
  fsgid: number;
  groups?: number[];
  #registry: string | undefined;
  /** Whether this process's ids are in the registry (so that it removes them at its end). */
  #published = false;

  /** The host's ids; `registry` is inherited, or made from the first process's pid. */
  constructor(from?: CredState) {
    const h = hostIds();
    this.uid = from?.uid ?? h.uid;
    this.euid = from?.euid ?? h.euid;
    this.suid = from?.suid ?? h.euid;
    this.fsuid = from?.fsuid ?? h.euid;
    this.gid = from?.gid ?? h.gid;
    this.egid = from?.egid ?? h.egid;
    this.sgid = from?.sgid ?? h.egid;
    this.fsgid = from?.fsgid ?? h.egid;
    this.groups = from?.groups?.slice();
    this.#registry = from?.registry;
  }

  /** The run's registry directory: inherited, or made from the first process's pid. */
  get registry(): string {
    return this.#registry ??= registryFor(libc.getpid());
  }

  /** A copy, for a fork child. */
  save(): CredState {
    const { uid, euid, suid, fsuid, gid, egid, sgid, fsgid, registry } = this;
    return {
      uid,
      euid,
      suid,
      fsuid,
      gid,
      egid,
      sgid,
      fsgid,
      groups: this.groups?.slice(),
      registry,
    };
  }

  /** CAP_SETUID, CAP_SETGID, CAP_KILL: root's effective uid. */
  get privileged(): boolean {
    return this.euid === 0;
  }

  /** Whether every id is still the host's (then nobody needs to be told about them). */
  get asHost(): boolean {
    const h = hostIds();
    return this.uid === h.uid && this.euid === h.euid && this.suid === h.euid &&
      this.fsuid === h.euid && this.gid === h.gid && this.egid === h.egid &&
      this.sgid === h.egid && this.fsgid === h.egid && this.groups === undefined;
  }

  /** setuid(2), and setgid(2) with `group`. */
  set(id: number, group: boolean): number {
    if (id === KEEP) return -E.EINVAL;
    const [r, , s] = this.#ids(group);
    if (this.privileged) return this.#put(group, id, id, id);
    if (id !== r && id !== s) return -E.EPERM;
    return this.#put(group, r, id, s);
  }

  /** setreuid(2), and setregid(2) with `group`. */
  setRe(rid: number, eid: number, group: boolean): number {
    const [r, e, s] = this.#ids(group);
    if (!this.privileged) {
      if (rid !== KEEP && rid !== r && rid !== e) return -E.EPERM;
      if (eid !== KEEP && eid !== r && eid !== e && eid !== s) return -E.EPERM;
    }
    const nr = rid === KEEP ? r : rid, ne = eid === KEEP ? e : eid;
    // The saved id follows the effective one when the real id is set, or the effective one is
    // set to something other than the old real id.
    const ns = rid !== KEEP || (eid !== KEEP && eid !== r) ? ne : s;
    return this.#put(group, nr, ne, ns);
  }

  /** setresuid(2), and setresgid(2) with `group`. */
  setRes(rid: number, eid: number, sid: number, group: boolean): number {
    const have = this.#ids(group);
    if (!this.privileged) {
      for (const id of [rid, eid, sid]) if (id !== KEEP && !have.includes(id)) return -E.EPERM;
    }
    const pick = (id: number, i: number) => (id === KEEP ? have[i] : id);
    return this.#put(group, pick(rid, 0), pick(eid, 1), pick(sid, 2));
  }

  /** setfsuid(2), and setfsgid(2) with `group`: the old fs id, changed when allowed. */
  setFs(id: number, group: boolean): number {
    const old = group ? this.fsgid : this.fsuid;
    if (id === KEEP) return old;
    const ok = this.privileged || [...this.#ids(group), old].includes(id);
    if (ok && id !== old) {
      if (group) this.fsgid = id;
      else this.fsuid = id;
    }
    return old;
  }

  /** setgroups(2) with the list read: privileged only (CAP_SETGID), even to the same list. */
  setGroups(list: number[]): number {
    if (!this.privileged) return -E.EPERM;
    this.groups = list.slice().sort((a, b) => a - b);
    return 0;
  }

  /** execve: the saved ids become the effective ones (no set-id bits: binfmt.ts). */
  exec(): void {
    if (this.suid === this.euid && this.sgid === this.egid) return;
    this.suid = this.euid;
    this.sgid = this.egid;
    this.fsuid = this.euid;
    this.fsgid = this.egid;
  }

  /**
   * Whether the host's own file permission checks are the guest's: the ids the kernel checks
   * with (`real`: access(2)'s real ids; otherwise the filesystem ids) are the host process's.
   * The normal case, and then elfuse checks nothing of its own (a few comparisons).
   */
  filesAsHost(real: boolean): boolean {
    const h = hostIds();
    return this.groups === undefined &&
      (real
        ? this.uid === h.uid && this.gid === h.gid
        : this.fsuid === h.euid && this.fsgid === h.egid);
  }

  /**
   * Linux's generic_permission for a file of `mode`, `owner` and `group`: whether these ids may
   * access it for `mask` (4 read, 2 write, 1 execute or search). The owner's bits apply to its
   * owner, the group's to a member, the others' to the rest; uid 0 (CAP_DAC_OVERRIDE) may read
   * and write anything, and execute what has any x bit, or search any directory.
   */
  permits(mode: number, owner: number, group: number, mask: number, real: boolean): boolean {
    const uid = real ? this.uid : this.fsuid, gid = real ? this.gid : this.fsgid;
    if (uid === 0) {
      return (mask & 1) === 0 || (mode & S_IFMT) === S_IFDIR || (mode & 0o111) !== 0;
    }
    let bits = mode;
    if (owner === uid) bits = mode >> 6;
    else if (group === gid || (this.groups ?? hostGroups()).includes(group)) bits = mode >> 3;
    return (mask & ~bits & 7) === 0;
  }

  /**
   * Whether this process may signal one with `target`'s ids (Linux kill_ok_by_cred: root, or
   * the sender's real or effective uid is the target's real or saved uid).
   */
  maySignal(target: PeerIds): boolean {
    if (this.privileged) return true;
    return this.euid === target.suid || this.euid === target.uid || this.uid === target.suid ||
      this.uid === target.uid;
  }

  /**
   * Process `pid`'s ids: its published ones, or the host's. Only asked when this process is
   * not privileged, so a plain run never reads the registry.
   */
  peer(pid: number): PeerIds {
    try {
      const t = Deno.readTextFileSync(`${this.registry}/${pid}`).split(" ").map(Number);
      if (t.length >= 3 && t.every(Number.isInteger)) return { uid: t[0], suid: t[2] };
    } catch {
      // Not published: the host's.
    }
    const h = hostIds();
    return { uid: h.uid, suid: h.euid };
  }

  /**
   * Tells the run's other processes this one's ids (`pid`'s), once they are not the host's: a
   * fork child whose parent changed them, or a change. Best effort: an unwritable directory
   * leaves peers assuming the host's ids.
   */
  publish(pid: number): void {
    if (!this.#published && this.asHost) return;
    this.#published = this.#write(pid);
  }

  /**
   * A fork child `pid` was started with these ids: publish them for it at once, before its own
   * process is up (its parent may signal it before that, kernel/fork.ts spawnChild).
   */
  publishFor(pid: number): void {
    if (!this.asHost) this.#write(pid);
  }

  #write(pid: number): boolean {
    try {
      Deno.mkdirSync(this.registry, { recursive: true, mode: 0o700 });
      Deno.writeTextFileSync(
        `${this.registry}/${pid}`,
        [...this.#ids(false), this.fsuid].join(" "),
      );
      return true;
    } catch {
      return false; // see publish
    }
  }

  /** This process (`pid`) ends: its entry goes, and the directory with the run's last one. */
  withdraw(pid: number, rt: Runtime): void {
    if (this.#published) forget(rt, this.registry, pid);
    this.#published = false;
  }

  /**
   * Child `pid` was reaped: its entry goes (a child killed by a signal could not remove it);
   * a run that never made one pays one failed host call.
   */
  reaped(pid: number, rt: Runtime): void {
    forget(rt, this.registry, pid);
  }

  #ids(group: boolean): [number, number, number] {
    return group ? [this.gid, this.egid, this.sgid] : [this.uid, this.euid, this.suid];
  }

  #put(group: boolean, r: number, e: number, s: number): number {
    if (group) [this.gid, this.egid, this.sgid, this.fsgid] = [r, e, s, e];
    else [this.uid, this.euid, this.suid, this.fsuid] = [r, e, s, e];
    return 0;
  }
}

/** Removes `dir`/`pid`, then `dir` if that left it empty (no exceptions: a reap is frequent). */
function forget(rt: Runtime, dir: string, pid: number): void {
  if (libc.unlinkat(AT_FDCWD, rt.scratchString(`${dir}/${pid}`), 0) === 0) {
    libc.unlinkat(AT_FDCWD, rt.scratchString(dir), AT_REMOVEDIR); // fails while others are there
  }
}

/** The registry of a run whose first elfuse process is `pid`. */
function registryFor(pid: number): string {
  const tmp = Deno.env.get("TMPDIR") ?? "/tmp";
  return `${tmp.replace(/\/+$/, "")}/elfuse-${hostIds().uid}-creds-${pid}`;
}
