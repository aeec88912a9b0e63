// A guest thread's side of FUSE requests. A syscall on a FUSE path makes one or more requests in
// order (LOOKUP per component, then GETATTR, OPEN, ...). Each thread has its own reply socket
// (transport.ts). A thread that must wait parks like any blocking syscall (wait.ts), which
// means its syscall runs again from the start when the reply is there; so the replies it has
// had in this syscall are kept on the thread (`replies`) and handed back in order on the rerun
// (the handler is deterministic given the same replies), and only the first request without a
// reply is sent, once. A process with one thread waits in the host call itself.
//
// The daemon's death: while it waits, the thread looks every 250 ms whether the /dev/fuse
// socket still has a holder (a zero-length datagram to it fails with ECONNREFUSED once every
// guest fd of that description is closed); then the request fails with ECONNABORTED and later
// ones with ENOTCONN, as Linux's do after fuse_abort_conn. A signal to handle sends FUSE_INTERRUPT for the request and the
// syscall ends with EINTR (or restarts under SA_RESTART).
import { libc } from "../../host/libc.ts";
import { E } from "../errno.ts";
import type { Task } from "../task.ts";
import { ERESTARTSYS, Outcome } from "../wait.ts";
import { moveOut } from "../inline_fork.ts";
import { type FuseMount, treeDir } from "./mounts.ts";
import { args, frame, IN_HEADER, MAX_IO, Op, OUT_HEADER } from "./protocol.ts";
import { addressOf, boundSocket, MSG_DONTWAIT, sendFrame } from "./transport.ts";

const POLLIN = 1;
const PING_MS = 250;
const onLinux = Deno.build.os === "linux";
const ECONNREFUSED = onLinux ? 111 : 61, ENOENT = 2, EAGAIN = onLinux ? 11 : 35;
const EINTR = 4;

/** A reply: its error (0 or a positive errno) and its payload. */
export interface Reply {
  error: number;
  body: Uint8Array;
  view: DataView;
}

/** A thread's FUSE state (Task.fuse). */
export class TaskFuse {
  readonly sock: number;
  readonly buf = new Uint8Array(MAX_IO + 64 * 1024);
  /** Replies this syscall has had, in request order. */
  replies: Reply[] = [];
  /** Requests made so far in this run of the syscall. */
  index = 0;
  /** The request sent and not yet answered: its unique and where it went. */
  sent: { unique: number; socket: string; lastPing: number } | undefined;
  /** Why the last wait ended (taken at the start of the rerun). */
  outcome: Outcome | undefined;
  seq = 0;
  readonly pollfd = new Uint8Array(8);

  constructor(sock: number) {
    this.sock = sock;
  }
}

function state(k: Task): TaskFuse | number {
  if (k.fuse !== undefined) return k.fuse;
  const path = `${treeDir()}/c-${Deno.pid}-${k.proc.pid}-${k.tid}`;
  const fd = boundSocket(path);
  if (fd < 0) return k.fail();
  k.fuse = new TaskFuse(fd);
  return k.fuse;
}

/**
 * Starts a FUSE syscall: a fresh run forgets the replies of an earlier one; a rerun after a wait
 * keeps them. Call once at the top of every handler that makes requests.
 */
export function begin(k: Task): void {
  const w = k.resumed();
  const f = k.fuse;
  if (f === undefined) return;
  f.index = 0;
  if (w === undefined) {
    f.replies = [];
    f.sent = undefined;
    f.outcome = undefined;
  } else f.outcome = w.outcome;
}

/** The unique id of a new request: even, as Linux's (odd ones are FUSE_INTERRUPT's). */
function unique(f: TaskFuse): number {
  f.seq = (f.seq + 1) & 0xfffff;
  return (Deno.pid * 0x100000 + f.seq) * 2;
}

/**
 * Makes request `opcode` on `nodeid` (or takes its reply from an earlier run of this syscall).
 * Returns the reply, or a negative number the handler returns as it is (-errno, or the code that
 * parks the thread). `noReply`: FORGET and BATCH_FORGET, which the daemon never answers.
 */
export function request(
  k: Task,
  m: FuseMount,
  opcode: number,
  nodeid: number,
  parts: (Uint8Array | string)[],
  noReply = false,
): Reply | number {
  // An in-process fork child (inline_fork.ts) moves to a process of its own first: a request
  // may wait on a daemon in its parent, and its replies must reach the process that goes on.
  const inline = k.proc.inline;
  if (inline !== undefined && !inline.moved) {
    const moved = moveOut(k);
    if (moved !== undefined) return moved;
  }
  const s = state(k);
  if (typeof s === "number") return s;
  const i = s.index++;
  if (i < s.replies.length) return s.replies[i];
  if (s.sent === undefined) {
    const u = unique(s);
    const ids = { uid: libc.getuid(), gid: libc.getgid(), pid: k.proc.pid };
    const bytes = frame(opcode, u, nodeid, ids, parts);
    if (sendFrame(s.sock, m.socket, bytes) < 0) {
      const err = k.errnoNow();
      return err === ECONNREFUSED || err === ENOENT ? -E.ENOTCONN : -err;
    }
    if (noReply) {
      s.index--;
      return { error: 0, body: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)) };
    }
    s.sent = { unique: u, socket: m.socket, lastPing: performance.now() };
  }
  return awaitReply(k, s);
}

function awaitReply(k: Task, s: TaskFuse): Reply | number {
  const sent = s.sent!;
  for (;;) {
    const r = Number(libc.recvfrom(s.sock, addressOf(s.buf), s.buf.length, MSG_DONTWAIT, 0, 0));
    if (r >= 0) {
      const got = parse(s, r, sent.unique);
      if (got === undefined) continue; // a late reply to an abandoned request
      s.sent = undefined;
      s.replies.push(got);
      return got;
    }
    const err = k.errnoNow();
    if (err !== EAGAIN && err !== EINTR) return -err;
    if (s.outcome === Outcome.Signal) return interrupt(k, s);
    if (performance.now() - sent.lastPing >= PING_MS) {
      sent.lastPing = performance.now();
      if (sendFrame(s.sock, sent.socket, new Uint8Array(0), MSG_DONTWAIT) < 0) {
        const e2 = k.errnoNow();
        if (e2 === ECONNREFUSED || e2 === ENOENT) {
          // Linux's fuse_abort_conn ends requests in flight with ECONNABORTED; later ones
          // find the connection gone (ENOTCONN, above).
          s.sent = undefined;
          return -E.ECONNABORTED;
        }
      }
    }
    if (k.proc.tasks.length > 1) {
      return k.block({
        fds: [{ hostFd: s.sock, events: POLLIN }],
        deadline: sent.lastPing + PING_MS,
      });
    }
    // One thread: wait here; a signal's kick interrupts poll with EINTR.
    const v = new DataView(s.pollfd.buffer);
    v.setInt32(0, s.sock, true);
    v.setInt16(4, POLLIN, true);
    v.setInt16(6, 0, true);
    const pr = libc.poll(addressOf(s.pollfd), 1, PING_MS);
    if (pr < 0 && k.errnoNow() === EINTR) {
      if (k.proc.hostSignals[0] !== 0 || k.signals.wake) return interrupt(k, s);
      return -E.EINTR; // the dispatcher sorts out a stale kick and runs the syscall again
    }
  }
}

/** A signal arrived while waiting: tell the daemon (FUSE_INTERRUPT) and end the syscall. */
function interrupt(k: Task, s: TaskFuse): number {
  const sent = s.sent!;
  s.sent = undefined;
  const ids = { uid: libc.getuid(), gid: libc.getgid(), pid: k.proc.pid };
  const f = frame(Op.INTERRUPT, sent.unique + 1, 0, ids, [args([8, sent.unique])]);
  sendFrame(s.sock, sent.socket, f, MSG_DONTWAIT);
  return -ERESTARTSYS;
}

/** A datagram as a reply to `want`, or undefined when it answers something else. */
function parse(s: TaskFuse, n: number, want: number): Reply | undefined {
  if (n < OUT_HEADER) return undefined;
  const v = new DataView(s.buf.buffer, 0, n);
  const u = Number(v.getBigUint64(8, true));
  if (u !== want) return undefined;
  const error = -v.getInt32(4, true);
  const body = s.buf.slice(OUT_HEADER, n);
  return { error, body, view: new DataView(body.buffer) };
}

/** Closes a thread's socket (thread exit). */
export function closeTaskFuse(f: TaskFuse): void {
  libc.close(f.sock);
}

export { IN_HEADER };
