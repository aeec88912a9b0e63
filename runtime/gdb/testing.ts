// Test helpers for the GDB stub: elfuse started with --gdb in a subprocess, and a minimal RSP
// client that speaks the protocol directly (runtime/gdb/*_test.ts).
import { frame, RspParser } from "./packets.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;
const dec = new TextDecoder();

export interface Debuggee {
  child: Deno.ChildProcess;
  /** Where it listens: a unix socket path, or "127.0.0.1:PORT". */
  where: string;
  /** Waits for the exit; returns the status and what it printed. */
  done(): Promise<{ code: number; signal: Deno.Signal | null; stdout: string; stderr: string }>;
}

/** A TCP port free at the time of asking (for gdb, whose unix-socket support varies). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * Starts `elfuse [extra] --gdb WHERE program args` (with `env` added to this process's
 * environment, which is never changed: test files share it); resolves once it says it listens
 * (its first stderr line).
 */
export async function startDebuggee(
  where: string,
  program: string,
  args: string[] = [],
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<Debuggee> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...extra, "--gdb", where, program, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.getReader();
  let err = "";
  while (!err.includes("\n")) {
    const r = await reader.read();
    if (r.done) break;
    err += dec.decode(r.value);
  }
  const rest = (async () => {
    for (;;) {
      const r = await reader.read();
      if (r.done) return;
      err += dec.decode(r.value);
    }
  })();
  const m = /listening on (\S+?)(,|\n)/.exec(err);
  const stdout = (async () => dec.decode(await new Response(child.stdout).arrayBuffer()))();
  return {
    child,
    where: m?.[1] ?? "",
    async done() {
      const st = await child.status;
      await rest;
      return { code: st.code, signal: st.signal, stdout: await stdout, stderr: err };
    },
  };
}

/** One connection speaking RSP: send a packet, read its reply (acknowledging, until no-ack). */
export class RspClient {
  readonly #conn: Deno.Conn;
  readonly #parser = new RspParser();
  readonly #events: ReturnType<RspParser["feed"]> = [];
  #ack = true;

  private constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  static async connect(where: string): Promise<RspClient> {
    if (where.includes("/")) {
      return new RspClient(await Deno.connect({ transport: "unix", path: where }));
    }
    const colon = where.lastIndexOf(":");
    return new RspClient(
      await Deno.connect({ hostname: where.slice(0, colon), port: Number(where.slice(colon + 1)) }),
    );
  }

  /** Raw bytes, as they are (malformed packets, 0x03). */
  async raw(bytes: string | Uint8Array): Promise<void> {
    const b = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    await this.#conn.write(b);
  }

  /** The next event from the stub: an ack, a nak, or a packet (acknowledged). */
  async next(): Promise<{ kind: string; text: string }> {
    while (this.#events.length === 0) {
      const buf = new Uint8Array(65536);
      const n = await this.#conn.read(buf);
      if (n === null) return { kind: "eof", text: "" };
      this.#events.push(...this.#parser.feed(buf.subarray(0, n)));
    }
    const e = this.#events.shift()!;
    if (e.kind !== "packet") return { kind: e.kind, text: "" };
    // The last reply (W, X) may come with the close: its ack has nowhere to go.
    if (this.#ack) await this.raw("+").catch(() => {});
    let text = "";
    for (const b of e.payload) text += String.fromCharCode(b);
    return { kind: "packet", text };
  }

  /** The next packet, skipping acknowledgements. */
  async reply(): Promise<string> {
    for (;;) {
      const e = await this.next();
      if (e.kind === "packet") return e.text;
      if (e.kind === "eof") throw new Error("the stub closed the connection");
    }
  }

  /** Sends a packet and returns the reply packet. */
  async ask(payload: string): Promise<string> {
    await this.raw(frame(payload));
    if (payload === "QStartNoAckMode") {
      const r = await this.reply();
      this.#ack = false;
      return r;
    }
    return await this.reply();
  }

  close(): void {
    try {
      this.#conn.close();
    } catch { /* closed by the peer */ }
  }
}

/** A symbol's address from the program's symbol table (the cross binutils' nm). */
export async function symbolAddress(program: string, name: string): Promise<number> {
  const out = await new Deno.Command("aarch64-linux-gnu-nm", { args: [program], stdout: "piped" })
    .output();
  const line = dec.decode(out.stdout).split("\n").find((l) => l.endsWith(` ${name}`));
  if (line === undefined) throw new Error(`${name} is not in ${program}`);
  return parseInt(line.split(" ")[0], 16);
}
