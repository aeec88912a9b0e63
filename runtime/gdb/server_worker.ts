// The GDB stub's socket side, on a Worker: the main thread's event loop is blocked while the guest
// runs, yet gdb's Ctrl-C (the 0x03 byte) and a newly attaching gdb must stop the guest. This thread
// accepts one connection at a time, splits the byte stream into packets (packets.ts), acknowledges
// them, and forwards them to the main thread. When something arrives while the guest runs (the
// RUNNING word is set), it interrupts the vCPU, until the main thread has taken it, the way the signal
// listener does for time slices (Vcpu.interruptCall): the run returns "interrupted" and the stub
// looks at what came.
/// <reference lib="deno.worker" />
import type { NativeCall } from "../backends/backend.ts";
import { frame, RspParser } from "./packets.ts";
import { type Endpoint, RUNNING, SENT, TAKEN } from "./endpoint.ts";

type Message =
  | { setup: { endpoint: Endpoint; shared: SharedArrayBuffer; interrupt: NativeCall | null } }
  | { send: string }
  | { noAck: boolean }
  | { hangUp: true };

let flags: Int32Array;
let interrupt: (() => void) | undefined;
let conn: Deno.Conn | undefined;
let ackMode = true;
let lastSent: Uint8Array | undefined;
const writes: Uint8Array[] = [];
let writing = false;

function useInterrupt(call: NativeCall | null): void {
  if (call === null) return;
  const lib = Deno.dlopen(call.library, {
    [call.symbol]: { parameters: call.parameters, result: "i32" },
  } as Record<string, Deno.ForeignFunction>);
  const fn = lib.symbols[call.symbol] as (...args: (number | bigint)[]) => number;
  const args = call.args.map((a, i) => (call.parameters[i] === "usize" ? BigInt(a) : Number(a)));
  interrupt = () => void fn(...args);
}

/** A message for the main thread, counted (SENT); a running guest is interrupted for it. */
function post(m: unknown): void {
  Atomics.add(flags, SENT, 1);
  self.postMessage(m);
  nudge();
}

let nudging = false;
/**
 * Interrupts the guest while messages wait to be taken. Again every REPEAT_MS: an interrupt that
 * lands between the main thread setting RUNNING and entering the vCPU is lost (a run starts with
 * no stop request: Unicorn's uc_emu_start clears it).
 */
function nudge(): void {
  if (Atomics.load(flags, SENT) === Atomics.load(flags, TAKEN)) return;
  if (Atomics.load(flags, RUNNING) === 1) interrupt?.();
  if (nudging) return;
  nudging = true;
  setTimeout(() => {
    nudging = false;
    nudge();
  }, REPEAT_MS);
}
const REPEAT_MS = 20;

async function write(bytes: Uint8Array): Promise<void> {
  writes.push(bytes);
  if (writing) return;
  writing = true;
  const target = conn;
  try {
    while (writes.length > 0) {
      let b = writes.shift()!;
      while (b.length > 0 && target !== undefined) b = b.subarray(await target.write(b));
    }
  } catch {
    // The peer went away: the read side notices and reports it.
    writes.length = 0;
  } finally {
    writing = false;
  }
}

async function serve(c: Deno.Conn): Promise<void> {
  conn = c;
  ackMode = true;
  post({ connected: true });
  const parser = new RspParser();
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await c.read(buf);
      if (n === null) break;
      for (const e of parser.feed(buf.subarray(0, n))) {
        if (e.kind === "packet") {
          if (ackMode) void write(new Uint8Array([0x2b]));
          post({ packet: e.payload });
        } else if (e.kind === "bad") {
          if (ackMode) void write(new Uint8Array([0x2d]));
        } else if (e.kind === "nak") {
          if (ackMode && lastSent !== undefined) void write(lastSent);
        } else if (e.kind === "interrupt") {
          post({ interrupt: true });
        }
      }
    }
  } catch {
    // A reset connection ends the session like a close.
  }
  conn = undefined;
  try {
    c.close();
  } catch { /* already closed */ }
  post({ disconnected: true });
}

async function listen(endpoint: Endpoint): Promise<void> {
  let listener: Deno.Listener;
  try {
    listener = endpoint.transport === "unix"
      ? Deno.listen({ transport: "unix", path: endpoint.path })
      : Deno.listen({ hostname: endpoint.hostname, port: endpoint.port });
  } catch (e) {
    post({ error: (e as Error).message.split("\n")[0] });
    return;
  }
  const a = listener.addr;
  post({
    listening: a.transport === "unix"
      ? a.path
      : `${(a as Deno.NetAddr).hostname}:${(a as Deno.NetAddr).port}`,
  });
  for await (const c of listener) {
    // One debugger at a time: a second one is turned away while the first is connected.
    if (conn !== undefined) {
      c.close();
      continue;
    }
    if (c.localAddr.transport === "tcp") (c as Deno.TcpConn).setNoDelay(true);
    await serve(c);
  }
}

self.onmessage = (e: MessageEvent<Message>) => {
  const m = e.data;
  if ("setup" in m) {
    flags = new Int32Array(m.setup.shared);
    useInterrupt(m.setup.interrupt);
    void listen(m.setup.endpoint);
  } else if ("send" in m) {
    const f = frame(m.send);
    lastSent = f;
    void write(f);
  } else if ("noAck" in m) ackMode = !m.noAck;
  else if ("hangUp" in m) {
    const c = conn;
    conn = undefined;
    // After the pending replies (D's OK, the exit's W) are written.
    const close = () => {
      if (writing) {
        setTimeout(close, 1);
        return;
      }
      try {
        c?.close();
      } catch { /* already closed */ }
      post({ closed: true });
    };
    close();
  }
};
