// The rosettad bridge's serving thread (rosettad_bridge.ts). A Worker, with its own FFI, because
// the guest side of the exchange blocks: a single-threaded guest's recvmsg on its end of the
// socketpair is a blocking host call on elfuse's one thread (kernel/syscalls/socket.ts), so an
// answer made on that thread would never come. Here each connection is a loop of recvmsg and
// sendmsg declared `nonblocking` (they run on Deno's blocking pool and resolve on this Worker's
// event loop), so several connections and a translation's timeout all make progress.
/// <reference lib="deno.worker" />
import {
  aotReply,
  type BridgeMessage,
  handshakeReply,
  missReply,
  RequestReader,
} from "./rosettad.ts";
import { AotCache } from "./rosettad_cache.ts";
import type { WorkerEnded, WorkerServe, WorkerSetup } from "./rosettad_bridge.ts";

const darwin = Deno.build.os === "darwin";
const lib = Deno.dlopen(darwin ? "/usr/lib/libSystem.B.dylib" : "libc.so.6", {
  recvmsg: { parameters: ["i32", "buffer", "i32"], result: "isize", nonblocking: true },
  sendmsg: { parameters: ["i32", "buffer", "i32"], result: "isize", nonblocking: true },
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  pread: {
    name: darwin ? "pread" : "pread64",
    parameters: ["i32", "buffer", "usize", "i64"],
    result: "isize",
  },
  fstat: { parameters: ["i32", "buffer"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  shutdown: { parameters: ["i32", "i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
});
const L = lib.symbols;

// struct msghdr and struct cmsghdr: Linux (x86-64, AArch64) and XNU (socket.h).
const M = darwin
  ? { iovlen4: true, controllen4: true, cmsg: 12, cmsgLen4: true, solSocket: 0xffff }
  : { iovlen4: false, controllen4: false, cmsg: 16, cmsgLen4: false, solSocket: 1 };
const SCM_RIGHTS = 1,
  MSG_CMSG_CLOEXEC = darwin ? 0 : 0x40000000,
  MSG_NOSIGNAL = darwin ? 0 : 0x4000;
const AT_FDCWD = darwin ? -2 : -100, O_CLOEXEC = darwin ? 0x1000000 : 0o2000000;
const F_SETFD = 2, FD_CLOEXEC = 1, SHUT_RDWR = 2;
/**
 * A failed call is tried again this many times: errno is the blocking pool thread's, out of
 * reach, and a signal taken on that thread (EINTR) passes, while a lasting error (the peer gone)
 * repeats and ends the connection.
 */
const RETRIES = 4;
const ptr = (b: Uint8Array) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(b)));

let settings: WorkerSetup;
let cache: AotCache;

function note(line: string): void {
  if (settings.verbose) Deno.stderr.writeSync(new TextEncoder().encode(`elfuse: ${line}\n`));
}

/** A msghdr over `data` (one iovec) and `control`. */
function msghdr(data: Uint8Array, control: Uint8Array, controlLen: number) {
  const hdr = new Uint8Array(56), iov = new Uint8Array(16);
  const h = new DataView(hdr.buffer), v = new DataView(iov.buffer);
  v.setBigUint64(0, ptr(data), true);
  v.setBigUint64(8, BigInt(data.length), true);
  h.setBigUint64(16, ptr(iov), true);
  if (M.iovlen4) h.setUint32(24, 1, true);
  else h.setBigUint64(24, 1n, true);
  if (controlLen > 0) h.setBigUint64(32, ptr(control), true);
  if (M.controllen4) h.setUint32(40, controlLen, true);
  else h.setBigUint64(40, BigInt(controlLen), true);
  return { hdr, h, iov };
}

/** One message from Rosetta, with the fds it brought; undefined at its end or on an error. */
async function receive(fd: number): Promise<{ data: Uint8Array; fds: number[] } | undefined> {
  const data = new Uint8Array(1024), control = new Uint8Array(256);
  const m = msghdr(data, control, control.length);
  let n = -1;
  for (let i = 0; n < 0 && i < RETRIES; i++) {
    n = Number(await L.recvmsg(fd, m.hdr, MSG_CMSG_CLOEXEC));
  }
  if (n <= 0) return undefined;
  const clen = M.controllen4 ? m.h.getUint32(40, true) : Number(m.h.getBigUint64(40, true));
  const c = new DataView(control.buffer), fds: number[] = [];
  for (let at = 0; at + M.cmsg <= clen;) {
    const len = M.cmsgLen4 ? c.getUint32(at, true) : Number(c.getBigUint64(at, true));
    if (len < M.cmsg) break;
    const level = c.getInt32(at + (M.cmsgLen4 ? 4 : 8), true);
    const type = c.getInt32(at + (M.cmsgLen4 ? 8 : 12), true);
    if (level === M.solSocket && type === SCM_RIGHTS) {
      for (let i = at + M.cmsg; i + 4 <= at + len; i += 4) {
        const got = c.getInt32(i, true);
        if (darwin) L.fcntl(got, F_SETFD, BigInt(FD_CLOEXEC));
        fds.push(got);
      }
    }
    at += M.cmsgLen4 ? (len + 3) & ~3 : (len + 7) & ~7;
  }
  return { data: data.slice(0, n), fds };
}

/** Sends each message on its own (SOCK_SEQPACKET keeps them apart); false when one fails. */
async function send(fd: number, messages: BridgeMessage[]): Promise<boolean> {
  for (const msg of messages) {
    const control = new Uint8Array(M.cmsg + 8);
    let clen = 0;
    if (msg.fds.length > 0) {
      const c = new DataView(control.buffer);
      const len = M.cmsg + 4;
      if (M.cmsgLen4) c.setUint32(0, len, true);
      else c.setBigUint64(0, BigInt(len), true);
      c.setInt32(M.cmsgLen4 ? 4 : 8, M.solSocket, true);
      c.setInt32(M.cmsgLen4 ? 8 : 12, SCM_RIGHTS, true);
      c.setInt32(M.cmsg, msg.fds[0], true);
      clen = M.cmsgLen4 ? len : (len + 7) & ~7;
    }
    const data = msg.data.slice();
    const m = msghdr(data, control, clen);
    let n = -1;
    for (let i = 0; n < 0 && i < RETRIES; i++) n = Number(await L.sendmsg(fd, m.hdr, MSG_NOSIGNAL));
    if (n !== data.length) return false;
  }
  return true;
}

/** An x86-64 file's bytes, read through the fd Rosetta passed (its offset is left alone). */
function readFd(fd: number): Uint8Array<ArrayBuffer> | undefined {
  const st = new Uint8Array(256);
  if (L.fstat(fd, st) !== 0) return undefined;
  // st_size: offset 48 in Linux's struct stat (x86-64 and AArch64), 96 in XNU's stat64.
  const size = Number(new DataView(st.buffer).getBigInt64(darwin ? 96 : 48, true));
  const out = new Uint8Array(size);
  for (let got = 0; got < size;) {
    const n = Number(L.pread(fd, out.subarray(got), BigInt(size - got), BigInt(got)));
    if (n <= 0) return n === 0 ? out.slice(0, got) : undefined;
    got += n;
  }
  return out;
}

function openRead(path: string): number {
  return L.openat(AT_FDCWD, new TextEncoder().encode(path + "\0"), O_CLOEXEC, 0);
}

/** Answers one request: the messages to send. */
async function answer(
  req: { op: "digest"; digest: Uint8Array } | {
    op: "translate";
    fd: number;
  },
): Promise<BridgeMessage[]> {
  if (req.op === "digest") {
    const path = cache.lookup(req.digest);
    const fd = path === undefined ? -1 : openRead(path);
    note(`rosettad: 'd' ${fd < 0 ? "miss" : "hit"}`);
    return fd < 0 ? missReply() : aotReply(fd);
  }
  const bytes = readFd(req.fd);
  L.close(req.fd);
  if (bytes === undefined) return missReply();
  const t = await cache.translate(bytes);
  if ("error" in t) {
    note(`rosettad: 't' miss: ${t.error}`);
    return missReply();
  }
  const fd = openRead(t.path);
  note(`rosettad: 't' ${fd < 0 ? "miss: cannot open the translation" : "hit"}`);
  return fd < 0 ? missReply() : aotReply(fd, t.digest);
}

/** Serves one connection until Rosetta quits, closes its end, or the exchange breaks. */
async function serve(fd: number): Promise<void> {
  const reader = new RequestReader();
  for (;;) {
    const msg = await receive(fd);
    if (msg === undefined) break;
    const req = reader.take(msg.data, msg.fds);
    if (req === undefined) continue;
    if ("error" in req) {
      for (const f of msg.fds) L.close(f);
      note(`rosettad: bad request: ${req.error}`);
      if (!(await send(fd, missReply())) || req.fatal) break;
      continue;
    }
    if (req.op === "quit") break;
    const reply = req.op === "handshake" ? handshakeReply() : await answer(req);
    const ok = await send(fd, reply);
    for (const m of reply) for (const f of m.fds) L.close(f);
    if (!ok) break;
  }
  L.shutdown(fd, SHUT_RDWR); // Rosetta sees the end of the stream
  const ended: WorkerEnded = { ended: fd };
  self.postMessage(ended);
}

self.onmessage = (e: MessageEvent<WorkerSetup | WorkerServe>) => {
  const d = e.data;
  if ("cache" in d) {
    settings = d;
    cache = new AotCache({ ...d.cache, note });
  } else serve(d.serve);
};
