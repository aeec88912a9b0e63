// The GDB Remote Serial Protocol stub (all-stop): gdb or lldb drives the guest over a socket that
// server_worker.ts owns. Loaded only under --gdb. The guest is stopped whenever this module serves
// packets; it runs in Debugger.run (kernel/debugger.ts), which the kernel loop calls in place of
// Vcpu.run. Software breakpoints are BRK #0 instructions written into guest memory while the guest
// runs and taken out at every stop (so gdb reads the original code), each write followed by
// Backend.invalidateCode: translated code that already ran sees them (Unicorn drops its blocks for
// the range; hvf's shim invalidates the instruction cache). GDB manual, Appendix E.
import { type Backend, type Exit, Reg, type SyscallHandler } from "../backends/backend.ts";
import type { Debugger } from "../kernel/debugger.ts";
import type { ExitStatus, Process } from "../kernel/process.ts";
import { type Task, TaskState } from "../kernel/task.ts";
import { deliverPending, sendSignal } from "../kernel/signal_delivery.ts";
import { runNow } from "../kernel/scheduler.ts";
import { type Endpoint, RUNNING, SENT, TAKEN } from "./endpoint.ts";
import {
  escapeBinary,
  fromHex,
  PACKET_SIZE,
  parseHexNumber,
  toHex,
  unescapeBinary,
} from "./packets.ts";
import { REGISTER_OFFSETS, REGISTER_SIZES, REGISTERS_BYTES, targetXml } from "./target_xml.ts";
import { hasLoader, librariesSvr4 } from "./link_map.ts";
import { HostIo } from "./host_io.ts";
import { type WatchKind, Watchpoints } from "./watchpoints.ts";

/** BRK #0, little-endian (Arm ARM C6.2.38): the guest stops with a breakpoint exit. */
const BRK = [0x00, 0x00, 0x20, 0xd4];
const SIGINT = 2, SIGTRAP = 5;
/** Errno values gdb's E replies carry (any two hex digits will do; these are Linux's). */
const EFAULT = "E0e", EINVAL = "E16", ESRCH = "E03", EBUSY = "E10";

type Message =
  | { listening: string }
  | { error: string }
  | { connected: true }
  | { disconnected: true }
  | { packet: Uint8Array }
  | { interrupt: true }
  | { closed: true };

/** What gdb asked the guest to do next. */
interface Resume {
  step: boolean;
  /** A signal to deliver first (C/S/vCont with a signal), 0 for none. */
  signal: number;
}

export interface GdbStubOptions {
  endpoint: Endpoint;
  stopOnEntry: boolean;
  /** One line on stderr ("elfuse: ..."). */
  note: (msg: string) => void;
}

/**
 * Starts the stub for `proc`: listens, says where on stderr, and with `stopOnEntry` waits for gdb
 * and serves it until it resumes the guest. Fails with a one-line Error when it cannot listen.
 */
export async function startGdbStub(
  proc: Process,
  backend: Backend,
  opts: GdbStubOptions,
): Promise<Debugger> {
  const stub = new GdbStub(proc, backend);
  const where = await stub.listen(opts.endpoint);
  opts.note(`gdb: listening on ${where}${opts.stopOnEntry ? ", waiting for gdb to attach" : ""}`);
  if (opts.stopOnEntry) await stub.waitForAttach();
  return stub;
}

class GdbStub implements Debugger {
  readonly #proc: Process;
  readonly #backend: Backend;
  readonly #shared = new Int32Array(new SharedArrayBuffer(12));
  /** Messages received from the worker (SENT counts those it posted). */
  #received = 0;
  readonly #worker: Worker;
  readonly #inbox: Message[] = [];
  #wake: (() => void) | undefined;
  #connected = false;
  /** gdb sent a resume and waits for a stop reply. */
  #awaited = false;
  #resume: Resume | undefined;
  #lastStop = "S05";
  /** Breakpoint addresses gdb set (Z0/Z1), with the bytes BRK replaces while inserted. */
  readonly #breakpoints = new Map<number, Uint8Array | undefined>();
  /** The thread g/G/p/P/m/M act on (Hg); 0 for the current one. */
  #gThread = 0;
  /** The thread `s` steps (Hc); 0 for the current one. */
  #cThread = 0;
  #swbreak = false;
  readonly #watches: Watchpoints;
  readonly #hostIo: HostIo;
  #temp: unknown;

  constructor(proc: Process, backend: Backend) {
    this.#proc = proc;
    this.#backend = backend;
    this.#watches = new Watchpoints(proc, backend);
    this.#hostIo = new HostIo(proc);
    this.#worker = new Worker(new URL("./server_worker.ts", import.meta.url), { type: "module" });
    this.#worker.onmessage = (e: MessageEvent<Message>) => {
      this.#received++;
      this.#inbox.push(e.data);
      const w = this.#wake;
      this.#wake = undefined;
      w?.();
    };
  }

  async listen(endpoint: Endpoint): Promise<string> {
    this.#worker.postMessage({
      setup: {
        endpoint,
        shared: this.#shared.buffer,
        interrupt: this.#proc.vcpu.interruptCall() ?? null,
      },
    });
    const m = await this.#next();
    if ("error" in m) {
      this.#worker.terminate();
      const where = endpoint.transport === "unix"
        ? endpoint.path
        : `${endpoint.hostname}:${endpoint.port}`;
      throw new Error(`--gdb ${where}: ${m.error}`);
    }
    if (!("listening" in m)) throw new Error("gdb: the socket worker did not start");
    return m.listening;
  }

  async waitForAttach(): Promise<void> {
    for (;;) {
      const m = await this.#next();
      if ("connected" in m) {
        this.#connected = true;
        break;
      }
    }
    await this.#stopped(`T05thread:${this.#tid(this.#proc.current)};`);
  }

  #next(): Promise<Message> {
    const m = this.#take();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve) => {
      this.#wake = () => resolve(this.#take()!);
    });
  }

  /** The next message in the inbox, counted as taken (the worker stops interrupting for it). */
  #take(): Message | undefined {
    const m = this.#inbox.shift();
    if (m !== undefined) Atomics.add(this.#shared, TAKEN, 1);
    return m;
  }

  /** The worker posted messages not taken yet. */
  #pending(): boolean {
    return Atomics.load(this.#shared, SENT) !== Atomics.load(this.#shared, TAKEN);
  }

  #send(reply: string): void {
    this.#worker.postMessage({ send: reply });
  }

  #tid(t: Task): string {
    return t.tid.toString(16);
  }

  // ---- running -------------------------------------------------------------------------------

  async run(onSyscall: SyscallHandler): Promise<Exit> {
    const v = this.#proc.vcpu;
    // The resume stays until the next stop replaces it: a run the kernel takes back for host
    // signals or time slices goes on as gdb asked (a step not yet taken is still to be taken).
    const r = this.#resume;
    if (r === undefined) return await this.#runFree(onSyscall);
    if (r.signal !== 0) {
      const sig = r.signal;
      r.signal = 0;
      const k = this.#proc.current;
      sendSignal(this.#proc, sig, { code: 0, pid: this.#proc.pid, uid: 0, value: 0n }, k);
      if (this.#proc.exitStatus !== undefined) return { kind: "stopped" };
      // A handler frame is set up the next time the thread returns from the kernel: now.
      if (k.signals.wake) deliverPending(k);
    }
    if (r.step) {
      const exit = v.step(onSyscall);
      if (exit.kind !== "step") return exit;
      return await this.#stopped(this.#trap(""));
    }
    for (;;) {
      // Step off a breakpoint at the pc first, or continuing would stop on it at once.
      if (this.#breakpoints.has(v.get(Reg.PC))) {
        const exit = v.step(onSyscall);
        if (exit.kind !== "step") return exit;
      }
      this.#insert();
      this.#watches.arm();
      const exit = this.#runGuest(onSyscall);
      this.#watches.disarm();
      this.#remove();
      if (exit.kind === "breakpoint" && this.#breakpoints.has(exit.pc)) {
        return await this.#stopped(this.#trap(this.#swbreak ? "swbreak:;" : ""));
      }
      if (exit.kind === "fault" && this.#watches.caused(exit)) {
        // The access runs on the page as the guest has it; then it is reported, done (gdb
        // compares the old and new values of a `watch`).
        const hit = this.#watches.hit(exit);
        const step = v.step(onSyscall);
        if (step.kind !== "step") return step;
        if (hit !== undefined) return await this.#stopped(this.#trap(hit));
        continue;
      }
      if (exit.kind === "interrupted" && this.#pending()) {
        return await this.#attend();
      }
      return exit;
    }
  }

  /** No gdb is connected: run until one attaches (the worker interrupts the guest then). */
  async #runFree(onSyscall: SyscallHandler): Promise<Exit> {
    const exit = this.#runGuest(onSyscall);
    if (exit.kind === "interrupted" && this.#pending()) {
      return await this.#attend();
    }
    return exit;
  }

  /** Vcpu.run with RUNNING set, so that the worker may interrupt it. */
  #runGuest(onSyscall: SyscallHandler): Exit {
    Atomics.store(this.#shared, RUNNING, 1);
    // Something that came just before RUNNING was set found nothing to interrupt.
    if (this.#pending()) {
      Atomics.store(this.#shared, RUNNING, 0);
      return { kind: "interrupted" };
    }
    const exit = this.#proc.vcpu.run(onSyscall, 0);
    Atomics.store(this.#shared, RUNNING, 0);
    return exit;
  }

  /** The worker has news while the guest ran: a new gdb, a Ctrl-C, or a hang-up. */
  async #attend(): Promise<Exit> {
    // The guest held the event loop: let the worker's messages in.
    while (this.#received < Atomics.load(this.#shared, SENT)) {
      await new Promise((r) => setTimeout(r, 0));
    }
    for (;;) {
      const m = this.#take();
      if (m === undefined) break;
      if ("connected" in m) {
        this.#connected = true;
        // gdb asks `?` after its qSupported: the guest is stopped by the attach.
        return await this.#stopped(this.#trap(""));
      }
      if ("interrupt" in m && this.#connected) {
        return await this.#stopped(`T${hex2(SIGINT)}thread:${this.#tid(this.#proc.current)};`);
      }
      if ("disconnected" in m) this.#detached();
      if ("packet" in m) {
        // All-stop: gdb sends nothing but 0x03 while the guest runs; serve it now anyway.
        this.#inbox.unshift(m);
        Atomics.sub(this.#shared, TAKEN, 1);
        return await this.#stopped(this.#trap(""));
      }
    }
    return { kind: "interrupted" };
  }

  #trap(extra: string): string {
    return `T${hex2(SIGTRAP)}thread:${this.#tid(this.#proc.current)};${extra}`;
  }

  /**
   * The guest stopped with `reply`: tell gdb if it waits for it, then serve until it resumes.
   * Returns the exit the kernel takes: interrupted (go on), or stopped once the process ended (k).
   */
  async #stopped(reply: string): Promise<Exit> {
    this.#lastStop = reply;
    this.#gThread = 0;
    if (this.#awaited) this.#send(reply);
    this.#awaited = false;
    await this.#serve();
    return this.#proc.exitStatus !== undefined ? { kind: "stopped" } : { kind: "interrupted" };
  }

  async signalled(sig: number): Promise<number> {
    if (!this.#connected) return sig;
    this.#resume = undefined;
    await this.#stopped(`T${hex2(sig)}thread:${this.#tid(this.#proc.current)};`);
    const r = this.#resume as Resume | undefined;
    if (r === undefined) return sig; // detached: the guest takes it
    const s = r.signal;
    r.signal = 0;
    return s;
  }

  async exited(status: ExitStatus): Promise<void> {
    if (this.#connected && this.#awaited) {
      this.#send("signal" in status ? `X${hex2(status.signal)}` : `W${hex2(status.code)}`);
    }
    // Whatever is still to be written (the reply, the ack of a k) goes out before the close.
    this.#worker.postMessage({ hangUp: true });
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2000); // a worker that cannot write any more
      (async () => {
        while (!("closed" in await this.#next()));
        clearTimeout(timer);
        resolve();
      })();
    });
    this.#worker.terminate();
  }

  #detached(): void {
    this.#connected = false;
    this.#awaited = false;
    this.#resume = undefined;
    this.#breakpoints.clear();
    this.#watches.clear();
    this.#hostIo.close();
  }

  // ---- serving -------------------------------------------------------------------------------

  /** The guest is stopped: answer packets until gdb resumes it, detaches or goes away. */
  async #serve(): Promise<void> {
    for (;;) {
      if (this.#proc.exitStatus !== undefined) return;
      const m = await this.#next();
      if ("disconnected" in m) {
        this.#detached();
        return;
      }
      if (!("packet" in m)) continue;
      let text = "";
      for (const b of m.packet) text += String.fromCharCode(b);
      const reply = this.#handle(text, m.packet);
      if (reply === RESUMED) {
        this.#awaited = true;
        return;
      }
      if (reply === DETACHED) {
        this.#worker.postMessage({ hangUp: true });
        this.#detached();
        return;
      }
      if (reply === KILLED) {
        // gdb reads no reply: the connection closes as the process ends.
        this.#proc.exitStatus = { signal: 9, core: false };
        this.#connected = false;
        return;
      }
      this.#send(reply);
      if (text === "QStartNoAckMode") this.#worker.postMessage({ noAck: true });
    }
  }

  /** One packet's reply, or what it did to the guest. Unknown packets get the empty reply. */
  #handle(p: string, raw: Uint8Array): string | typeof RESUMED | typeof DETACHED | typeof KILLED {
    switch (p[0]) {
      case "?":
        return this.#lastStop;
      case "g":
        return toHex(this.#readRegisters());
      case "G": {
        const data = fromHex(p.slice(1));
        if (data === undefined || data.length < REGISTERS_BYTES) return EINVAL;
        return this.#writeRegisters(data) ? "OK" : ESRCH;
      }
      case "p": {
        const n = parseHexNumber(p.slice(1));
        if (n === undefined || n >= REGISTER_SIZES.length) return EINVAL;
        const all = this.#readRegisters();
        return toHex(all.subarray(REGISTER_OFFSETS[n], REGISTER_OFFSETS[n] + REGISTER_SIZES[n]));
      }
      case "P": {
        const [ns, vs] = p.slice(1).split("=");
        const n = parseHexNumber(ns), data = fromHex(vs ?? "");
        if (n === undefined || n >= REGISTER_SIZES.length || data === undefined) return EINVAL;
        if (data.length !== REGISTER_SIZES[n]) return EINVAL;
        const all = this.#readRegisters();
        all.set(data, REGISTER_OFFSETS[n]);
        return this.#writeRegisters(all) ? "OK" : ESRCH;
      }
      case "m": {
        const a = parseAddrLen(p.slice(1));
        if (a === undefined) return EINVAL;
        const n = this.#readable(a.addr, Math.min(a.len, PACKET_SIZE / 2 - 8));
        if (n === 0 && a.len > 0) return EFAULT;
        return toHex(this.#proc.mem.subarray(a.addr, a.addr + n));
      }
      case "M": {
        const colon = p.indexOf(":");
        const a = parseAddrLen(p.slice(1, colon < 0 ? undefined : colon));
        const data = colon < 0 ? undefined : fromHex(p.slice(colon + 1));
        if (a === undefined || data === undefined || data.length !== a.len) return EINVAL;
        return this.#writeMemory(a.addr, data);
      }
      case "X": {
        const colon = raw.indexOf(0x3a);
        const a = parseAddrLen(p.slice(1, colon < 0 ? undefined : colon));
        const data = colon < 0 ? undefined : unescapeBinary(raw.subarray(colon + 1));
        if (a === undefined || data === undefined || data.length !== a.len) return EINVAL;
        return this.#writeMemory(a.addr, data);
      }
      case "c":
      case "s":
        if (p[0] === "s" && this.#cThread !== 0) {
          const t = this.#task(this.#cThread);
          if (t === undefined) return ESRCH;
          if (!this.#switchTo(t)) return EBUSY;
        }
        if (p.length > 1 && !this.#setPc(p.slice(1))) return EINVAL;
        this.#resume = { step: p[0] === "s", signal: 0 };
        return RESUMED;
      case "C":
      case "S": {
        const [sigText, addr] = p.slice(1).split(";");
        const sig = parseHexNumber(sigText);
        if (sig === undefined || sig > 64) return EINVAL;
        if (addr !== undefined && !this.#setPc(addr)) return EINVAL;
        this.#resume = { step: p[0] === "S", signal: sig };
        return RESUMED;
      }
      case "Z":
      case "z":
        return this.#breakpoint(p);
      case "H": {
        if (p[1] !== "g" && p[1] !== "c") return "";
        const id = p.slice(2);
        const tid = id === "0" || id === "-1" ? 0 : parseHexNumber(id);
        if (tid === undefined || (tid !== 0 && this.#task(tid) === undefined)) return ESRCH;
        if (p[1] === "g") this.#gThread = tid;
        else this.#cThread = tid;
        return "OK";
      }
      case "T": {
        const tid = parseHexNumber(p.slice(1));
        return tid !== undefined && this.#task(tid) !== undefined ? "OK" : ESRCH;
      }
      case "D":
        this.#send("OK");
        return DETACHED;
      case "k":
        return KILLED;
      case "q":
      case "Q":
        return this.#query(p);
      case "v":
        return this.#vPacket(p);
    }
    return "";
  }

  #query(p: string): string {
    if (p.startsWith("qSupported")) {
      this.#swbreak = p.includes("swbreak+");
      return [
        `PacketSize=${PACKET_SIZE.toString(16)}`,
        "QStartNoAckMode+",
        "qXfer:features:read+",
        "qXfer:auxv:read+",
        "qXfer:exec-file:read+",
        // A static program has no link map: lldb, told there is one, waits for ld.so's
        // rendezvous breakpoint at the entry and runs the program off.
        ...(hasLoader(this.#proc) ? ["qXfer:libraries-svr4:read+"] : []),
        "qXfer:threads:read+",
        "swbreak+",
        "hwbreak+",
        "vContSupported+",
      ].join(";");
    }
    if (p === "QStartNoAckMode") return "OK";
    if (p === "qAttached" || p.startsWith("qAttached:")) return "0";
    if (p === "qC") return `QC${this.#tid(this.#proc.current)}`;
    if (p === "qfThreadInfo") return "m" + this.#live().map((t) => this.#tid(t)).join(",");
    if (p === "qsThreadInfo") return "l";
    if (p.startsWith("qSymbol")) return "OK";
    if (p.startsWith("qXfer:")) return this.#xfer(p);
    return "";
  }

  #xfer(p: string): string {
    // qXfer:OBJECT:read:ANNEX:OFFSET,LENGTH
    const parts = p.split(":");
    if (parts.length !== 5 || parts[2] !== "read") return "";
    const range = parseAddrLen(parts[4]);
    if (range === undefined) return EINVAL;
    let data: Uint8Array;
    switch (parts[1]) {
      case "features":
        if (parts[3] !== "target.xml") return EINVAL;
        data = new TextEncoder().encode(targetXml());
        break;
      case "auxv": {
        const { auxvAddress, auxvLength } = this.#proc.info;
        if (auxvAddress === undefined || auxvLength === undefined) return EINVAL;
        data = this.#proc.mem.slice(auxvAddress, auxvAddress + auxvLength);
        break;
      }
      case "exec-file":
        data = new TextEncoder().encode(this.#proc.info.exePath);
        break;
      case "libraries-svr4":
        data = new TextEncoder().encode(librariesSvr4(this.#proc));
        break;
      case "threads":
        data = new TextEncoder().encode(
          "<threads>" +
            this.#live().map((t) =>
              `<thread id="${this.#tid(t)}" name="${xmlEscape(this.#name(t))}"/>`
            ).join("") + "</threads>",
        );
        break;
      default:
        return "";
    }
    const len = Math.min(range.len, PACKET_SIZE / 2);
    const chunk = data.subarray(range.addr, range.addr + len);
    const more = range.addr + len < data.length;
    let s = more ? "m" : "l";
    for (const b of escapeBinary(chunk)) s += String.fromCharCode(b);
    return s;
  }

  #vPacket(p: string): string | typeof RESUMED | typeof KILLED {
    if (p === "vCont?") return "vCont;c;C;s;S;t";
    if (p.startsWith("vCont;")) {
      // All-stop on one vCPU: the first action that applies to the current thread (or to all)
      // says what happens; a step of another thread makes that thread the current one first.
      const cur = this.#proc.current.tid;
      let chosen: Resume | undefined, other: Task | undefined;
      for (const action of p.slice(6).split(";")) {
        const [verb, tidText] = action.split(":");
        const kind = verb[0];
        if (kind !== "c" && kind !== "s" && kind !== "C" && kind !== "S") continue;
        const tid = tidText === undefined || tidText === "-1" ? undefined : parseHexNumber(tidText);
        const step = kind === "s" || kind === "S";
        if (tid !== undefined && tid !== cur) {
          if (!step) continue;
          other = this.#task(tid);
          if (other === undefined) return ESRCH;
        }
        const sig = kind === "C" || kind === "S" ? parseHexNumber(verb.slice(1)) ?? 0 : 0;
        chosen = { step, signal: sig };
        break;
      }
      if (other !== undefined && !this.#switchTo(other)) return EBUSY;
      this.#resume = chosen ?? { step: false, signal: 0 };
      return RESUMED;
    }
    if (p.startsWith("vKill")) return KILLED;
    if (p.startsWith("vFile:")) return this.#hostIo.handle(p);
    return "";
  }

  // ---- breakpoints ---------------------------------------------------------------------------

  #breakpoint(p: string): string {
    const [type, addrText, kindText] = p.slice(1).split(",");
    const addr = parseHexNumber(addrText ?? "");
    if (addr === undefined || kindText === undefined) return EINVAL;
    if (type === "2" || type === "3" || type === "4") {
      const len = parseHexNumber(kindText);
      if (len === undefined || len === 0 || len > 4096) return EINVAL;
      if (p[0] === "z") return this.#watches.remove(Number(type) as WatchKind, addr, len);
      if (this.#readable(addr, len) !== len) return EFAULT;
      return this.#watches.add(Number(type) as WatchKind, addr, len);
    }
    // Z0 software and Z1 hardware breakpoints are both BRKs here (guest memory is ours to write).
    if (type !== "0" && type !== "1") return "";
    if (p[0] === "z") {
      this.#breakpoints.delete(addr);
      return "OK";
    }
    // An address not mapped yet is kept and takes effect once it is (as qemu-user's stub
    // accepts it; lldb sets its ld.so rendezvous breakpoint at 0 in a static program and, told
    // no, runs the program off from its entry).
    if (addr % 4 !== 0) return EINVAL;
    this.#breakpoints.set(addr, undefined);
    return "OK";
  }

  withoutBreakpoints<T>(f: () => T): T {
    const inserted = [...this.#breakpoints.values()].some((b) => b !== undefined);
    if (!inserted) return f();
    this.#remove();
    try {
      return f();
    } finally {
      this.#insert();
    }
  }

  #insert(): void {
    const mem = this.#proc.mem;
    for (const addr of this.#breakpoints.keys()) {
      if (this.#readable(addr, 4) !== 4) continue;
      this.#breakpoints.set(addr, mem.slice(addr, addr + 4));
      mem.set(BRK, addr);
      this.#backend.invalidateCode(addr, 4);
    }
  }

  #remove(): void {
    const mem = this.#proc.mem;
    for (const [addr, saved] of this.#breakpoints) {
      if (saved === undefined) continue;
      this.#breakpoints.set(addr, undefined);
      // An execve, munmap or the program itself replaced the code: leave the new bytes alone,
      // and the breakpoint is gone with the code it was in.
      if (this.#readable(addr, 4) !== 4 || !BRK.every((b, i) => mem[addr + i] === b)) {
        this.#breakpoints.delete(addr);
        continue;
      }
      mem.set(saved, addr);
      this.#backend.invalidateCode(addr, 4);
    }
  }

  // ---- memory and registers ------------------------------------------------------------------

  /** How many bytes from `addr` (up to `len`) lie in guest mappings. */
  #readable(addr: number, len: number): number {
    const vmas = this.#proc.as.vmas;
    let n = 0;
    while (n < len) {
      const v = vmas.find(addr + n);
      if (v === undefined) break;
      n = Math.min(len, v.end - addr);
    }
    return n;
  }

  #writeMemory(addr: number, data: Uint8Array): string {
    if (this.#readable(addr, data.length) !== data.length) return EFAULT;
    this.#proc.mem.set(data, addr);
    if (data.length > 0) this.#backend.invalidateCode(addr, data.length);
    return "OK";
  }

  #setPc(text: string): boolean {
    const a = parseHexNumber(text);
    if (a === undefined) return false;
    this.#proc.vcpu.set(Reg.PC, a);
    return true;
  }

  /**
   * Makes `t` the thread on the vCPU (gdb steps it). Only a runnable thread can be: one parked in
   * a blocking call has its syscall still to finish (false).
   */
  #switchTo(t: Task): boolean {
    if (t === this.#proc.current) return true;
    if (t.state !== TaskState.Runnable) return false;
    runNow(t);
    this.#gThread = 0;
    return true;
  }

  #live(): Task[] {
    return this.#proc.tasks.filter((t) => t.state !== TaskState.Exited);
  }

  #task(tid: number): Task | undefined {
    return this.#live().find((t) => t.tid === tid);
  }

  #name(t: Task): string {
    if (t.name !== "") return t.name;
    const exe = this.#proc.info.exePath;
    return exe.slice(exe.lastIndexOf("/") + 1).slice(0, 15);
  }

  /** Runs `f` with the Hg thread's registers on the vCPU (its saved context loaded meanwhile). */
  #onThread<T>(f: () => T, write: boolean): T | undefined {
    const proc = this.#proc, v = proc.vcpu;
    const t = this.#gThread === 0 ? proc.current : this.#task(this.#gThread);
    if (t === undefined) return undefined;
    if (t === proc.current || t.context === undefined) return f();
    const temp = (this.#temp ??= v.newContext()) as ReturnType<typeof v.newContext>;
    v.saveContext(temp);
    v.loadContext(t.context);
    try {
      const r = f();
      if (write) v.saveContext(t.context);
      return r;
    } finally {
      v.loadContext(temp);
    }
  }

  #readRegisters(): Uint8Array {
    const out = new Uint8Array(REGISTERS_BYTES + 4);
    const view = new DataView(out.buffer);
    this.#onThread(() => {
      const gen = new DataView(new ArrayBuffer(34 * 8));
      this.#proc.vcpu.saveGeneral(gen, 0);
      out.set(new Uint8Array(gen.buffer, 0, 33 * 8), 0);
      view.setUint32(33 * 8, Number(gen.getBigUint64(33 * 8, true) & 0xffff_ffffn), true);
      this.#proc.vcpu.saveFpsimd(view, REGISTER_OFFSETS[34]);
    }, false);
    return out.subarray(0, REGISTERS_BYTES);
  }

  #writeRegisters(data: Uint8Array): boolean {
    const src = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const done = this.#onThread(() => {
      const gen = new DataView(new ArrayBuffer(34 * 8));
      new Uint8Array(gen.buffer).set(data.subarray(0, 33 * 8));
      gen.setBigUint64(33 * 8, BigInt(src.getUint32(33 * 8, true)), true);
      this.#proc.vcpu.loadGeneral(gen, 0);
      const fp = new DataView(data.slice(REGISTER_OFFSETS[34], REGISTERS_BYTES).buffer);
      this.#proc.vcpu.loadFpsimd(fp, 0);
      return true;
    }, true);
    return done === true;
  }
}

const RESUMED = Symbol("resumed"), DETACHED = Symbol("detached"), KILLED = Symbol("killed");

function hex2(n: number): string {
  return (n & 0xff).toString(16).padStart(2, "0");
}

/** "ADDR,LENGTH" in hex. */
function parseAddrLen(text: string): { addr: number; len: number } | undefined {
  const [a, l] = text.split(",");
  const addr = parseHexNumber(a ?? ""), len = parseHexNumber(l ?? "");
  return addr === undefined || len === undefined ? undefined : { addr, len };
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(
    /"/g,
    "&quot;",
  );
}
