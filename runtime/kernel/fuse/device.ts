// /dev/fuse: an emulated description (fdtable.ts) whose host fd is the datagram socket clients
// send requests to (transport.ts). A read takes one request (recvfrom: the guest buffer gets the
// frame in place, the sender's address is kept by unique id); a write is one reply, checked as
// Linux's fuse_dev_do_write checks it, and sent to the thread that asked. FUSE_INIT is made here
// on the daemon's first read after mount(2) (Linux queues it at mount), and its answer is written
// into the tree's mount table for every client. umount2 sends the socket a marker datagram;
// reads then fail with ENODEV, which is how libfuse's loop learns the mount is gone.
import { libc } from "../../host/libc.ts";
import { mayBlock, POLLIN } from "../blocking.ts";
import { E } from "../errno.ts";
import type { Description, DescriptionState, FdEntry } from "../fdtable.ts";
import type { Task } from "../task.ts";
import { mountTable } from "./mounts.ts";
import {
  args,
  FUSE_MAJOR,
  FUSE_MINOR,
  IN_HEADER,
  INIT_FLAGS,
  INIT_IN,
  INIT_OUT_MIN,
  MAX_FRAME,
  MAX_IO,
  MIN_READ_BUFFER,
  Op,
  OUT_HEADER,
} from "./protocol.ts";
import { addressOf, sendFrame, SOCKADDR_SIZE, sockaddrPath } from "./transport.ts";

/** The opcode of elfuse's own "unmounted" marker datagram (no FUSE opcode is this large). */
export const UNMOUNTED = 0xfffffffe;
/** FUSE_INIT's unique: never one a client uses (theirs are pid-based). */
const INIT_UNIQUE = 2;

export class FuseDevice implements Description {
  readonly kind = "fuse-device";
  readonly keepsHostFd = true;
  refs = 0;
  /** The mount it serves (mounts.ts id), once mount(2) named it. */
  mountId: number | undefined;
  initSent = false;
  unmounted = false;
  /** The host path its socket is bound at. */
  readonly socket: string;
  /** Requests read and not yet answered: unique id -> the asker's socket path. */
  readonly pending = new Map<number, string>();
  readonly #addr = new Uint8Array(SOCKADDR_SIZE);
  readonly #addrLen = new Uint32Array([SOCKADDR_SIZE]);

  constructor(socket: string) {
    this.socket = socket;
  }

  standIn(): number {
    return -1; // the guest's fds are dups of the socket itself (open and fork keep it)
  }

  read(k: Task, e: FdEntry, buf: number, len: number): number {
    if (len < MIN_READ_BUFFER) return -E.EINVAL;
    if (this.unmounted) return -E.ENODEV;
    if (this.mountId === undefined) return -E.EPERM; // Linux: not attached to a mount yet
    if (!this.initSent) return this.#init(k, buf);
    for (;;) {
      const wait = mayBlock(k, e.hostFd, POLLIN);
      if (wait !== 0) return wait;
      this.#addrLen[0] = SOCKADDR_SIZE;
      const n = Number(
        libc.recvfrom(
          e.hostFd,
          k.proc.hostBase + buf,
          len,
          0,
          addressOf(this.#addr),
          addressOf(new Uint8Array(this.#addrLen.buffer)),
        ),
      );
      if (n < 0) return k.fail();
      if (n === 0) continue; // a client's liveness probe (client.ts)
      if (n < IN_HEADER) continue; // not a frame elfuse sent
      const v = k.proc.view;
      const opcode = v.getUint32(buf + 4, true);
      if (opcode === UNMOUNTED) {
        this.unmounted = true;
        return -E.ENODEV;
      }
      const unique = Number(v.getBigUint64(buf + 8, true));
      const from = sockaddrPath(this.#addr);
      if (v.getUint32(buf, true) > n) {
        // The frame did not fit the daemon's buffer: Linux ends that request with EIO.
        this.#answer(e.hostFd, from, unique, -E.EIO);
        continue;
      }
      if (opcode !== Op.FORGET && opcode !== Op.BATCH_FORGET) this.pending.set(unique, from);
      return n;
    }
  }

  /** FUSE_INIT, as Linux sends it (fuse_send_init): 7.31 with the flags elfuse understands. */
  #init(k: Task, buf: number): number {
    this.initSent = true;
    const body = new Uint8Array(INIT_IN);
    body.set(args([4, FUSE_MAJOR], [4, FUSE_MINOR], [4, MAX_IO], [4, INIT_FLAGS]));
    const len = IN_HEADER + INIT_IN;
    const v = k.proc.view;
    k.proc.mem.fill(0, buf, buf + len);
    v.setUint32(buf, len, true);
    v.setUint32(buf + 4, Op.INIT, true);
    v.setBigUint64(buf + 8, BigInt(INIT_UNIQUE), true);
    v.setUint32(buf + 32, k.proc.pid, true);
    k.proc.mem.set(body, buf + IN_HEADER);
    this.pending.set(INIT_UNIQUE, "");
    return len;
  }

  /** A reply of `bytes` (write, writev): the count, or EINVAL/ENOENT as Linux answers. */
  write(k: Task, e: FdEntry, bytes: Uint8Array): number {
    const n = bytes.length;
    if (n < OUT_HEADER || n > MAX_FRAME) return -E.EINVAL;
    const v = new DataView(bytes.buffer, bytes.byteOffset, n);
    if (v.getUint32(0, true) !== n) return -E.EINVAL;
    const error = v.getInt32(4, true);
    if (error > 0 || error <= -512) return -E.EINVAL;
    const unique = Number(v.getBigUint64(8, true));
    if (unique === 0) return n; // a notification (FUSE_NOTIFY_*): elfuse keeps no cache to drop
    const to = this.pending.get(unique);
    if (to === undefined) return -E.ENOENT;
    this.pending.delete(unique);
    if (unique === INIT_UNIQUE) return this.#initReply(k, v, n, error);
    // The asker may be gone (interrupted, exited): Linux drops such a reply silently.
    sendFrame(e.hostFd, to, bytes);
    return n;
  }

  #initReply(_k: Task, v: DataView, n: number, error: number): number {
    const id = this.mountId;
    const t = mountTable(_k.rt);
    if (id === undefined || t === undefined) return n;
    if (error !== 0 || n < OUT_HEADER + INIT_OUT_MIN || v.getUint32(OUT_HEADER, true) !== 7) {
      // Linux marks the connection failed: every request then gets ECONNREFUSED.
      t.update((ms) => {
        const m = ms.find((x) => x.id === id);
        if (m !== undefined) m.minor = -1;
        return 0;
      });
      return n;
    }
    const minor = v.getUint32(OUT_HEADER + 4, true);
    const flags = v.getUint32(OUT_HEADER + 12, true) & INIT_FLAGS;
    const maxWrite = Math.min(Math.max(v.getUint32(OUT_HEADER + 20, true), 4096), MAX_IO);
    t.update((ms) => {
      const m = ms.find((x) => x.id === id);
      if (m === undefined) return 0;
      m.minor = Math.min(minor, FUSE_MINOR);
      m.flags = flags;
      m.maxWrite = maxWrite;
      return 0;
    });
    return n;
  }

  #answer(fd: number, to: string, unique: number, err: number): void {
    const f = new Uint8Array(OUT_HEADER);
    const v = new DataView(f.buffer);
    v.setUint32(0, OUT_HEADER, true);
    v.setInt32(4, err, true);
    v.setBigUint64(8, BigInt(unique), true);
    sendFrame(fd, to, f);
  }

  save(): DescriptionState {
    return {
      kind: this.kind,
      socket: this.socket,
      mountId: this.mountId,
      initSent: this.initSent,
      unmounted: this.unmounted,
      pending: [...this.pending],
    };
  }

  release(): void {}
}

/** A fork child's copy (descriptions.ts): the same socket (its fds are dups), the same state. */
export function restoreFuseDevice(s: DescriptionState): Description {
  const d = new FuseDevice(s.socket as string);
  d.mountId = s.mountId as number | undefined;
  d.initSent = s.initSent as boolean;
  d.unmounted = s.unmounted as boolean;
  for (const [u, p] of s.pending as [number, string][]) d.pending.set(u, p);
  return d;
}
