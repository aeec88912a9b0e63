// The GDB stub spoken to directly over its socket (no gdb needed): packets, malformed input,
// breakpoints, memory and registers, Ctrl-C, signals, detach and kill.
import assert from "node:assert/strict";
import { fromHex, toHex } from "./packets.ts";
import { RspClient, startDebuggee, symbolAddress } from "./testing.ts";
import { REGISTERS_BYTES } from "./target_xml.ts";
import { openUnicorn } from "../backends/unicorn/ffi.ts";

const target = new URL("../../fixtures/build/gdb_target", import.meta.url).pathname;

/** unicorn, and the hvf backend's code path on its simulator where libunicorn can run it. */
function backends(): string[] {
  const { lib } = openUnicorn();
  const v = lib.uc_version(0, 0);
  const n = (v >>> 24) * 10000 + ((v >>> 16) & 0xff) * 100 + ((v >>> 8) & 0xff);
  if (n >= 20104) return ["unicorn", "hvf-sim"];
  console.error("rsp_test.ts: hvf-sim lane SKIPPED: libunicorn older than 2.1.4");
  return ["unicorn"];
}

function socketPath(): string {
  return `${Deno.makeTempDirSync({ prefix: "elfuse-gdb-" })}/sock`;
}

/** Little-endian hex of a 64-bit number (a register or an address in memory). */
function le64(n: number): string {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return toHex(b);
}

/** The loop of `fn`: its backward conditional branch's target and address (cross objdump). */
async function loopOf(program: string, fn: string): Promise<[number, number]> {
  const out = await new Deno.Command("aarch64-linux-gnu-objdump", {
    args: ["-d", "--no-show-raw-insn", program],
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const body = text.slice(text.indexOf(`<${fn}>:`));
  const m = /\n\s*([0-9a-f]+):\s+b\.ne\s+([0-9a-f]+)/.exec(body)!;
  return [parseInt(m[2], 16), parseInt(m[1], 16)];
}

function pcOf(g: string): number {
  const b = fromHex(g.slice(32 * 16, 33 * 16))!;
  return Number(new DataView(b.buffer).getBigUint64(0, true));
}

for (const backend of backends()) {
  Deno.test(`rsp (${backend}): the core packets, a breakpoint, memory writes and the exit`, async () => {
    const d = await startDebuggee(socketPath(), target, [], [
      "--backend",
      backend,
      "--gdb-stop-on-entry",
    ]);
    const c = await RspClient.connect(d.where);
    const sup = await c.ask("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
    assert.match(sup, /PacketSize=[0-9a-f]+/);
    assert.match(sup, /qXfer:features:read\+/);
    assert.equal(await c.ask("QStartNoAckMode"), "OK");
    assert.match(await c.ask("?"), /^T05thread:[0-9a-f]+;/);
    assert.equal(await c.ask("qAttached"), "0");
    assert.match(await c.ask("qC"), /^QC[0-9a-f]+$/);
    const xml = await c.ask("qXfer:features:read:target.xml:0,3fff");
    assert.equal(xml[0], "l");
    assert(xml.includes("org.gnu.gdb.aarch64.fpu") && xml.includes('name="fpcr"'));
    const g = await c.ask("g");
    assert.equal(g.length, REGISTERS_BYTES * 2);
    const entry = await symbolAddress(target, "_start");
    assert.equal(pcOf(g), entry);
    assert.equal(await c.ask("p20"), le64(entry));
    // The auxiliary vector holds AT_ENTRY (9) = the entry point.
    const xfer = await c.ask("qXfer:auxv:read::0,1000");
    assert.equal(xfer[0], "l");
    const auxv = new DataView(new TextEncoder().encode(xfer.slice(1)).buffer);
    assert.ok(auxv.byteLength > 0);
    assert.equal(await c.ask(`m${entry.toString(16)},0`), "");
    const add = await symbolAddress(target, "add");
    const counter = await symbolAddress(target, "counter");
    assert.equal(await c.ask(`Z0,${add.toString(16)},4`), "OK");
    assert.match(await c.ask("c"), /^T05thread:[0-9a-f]+;swbreak:;$/);
    assert.equal(pcOf(await c.ask("g")), add);
    // The breakpoint is not visible in memory while stopped: gdb reads the original code.
    assert(!(await c.ask(`m${add.toString(16)},4`)).startsWith("000020d4"));
    // add(0, 1): x1 is 1; x0 becomes 40 with P, and counter 100 with M.
    assert.equal(await c.ask("p1"), le64(1));
    assert.equal(await c.ask(`P0=${le64(40)}`), "OK");
    assert.equal(await c.ask(`M${counter.toString(16)},4:64000000`), "OK");
    assert.equal(await c.ask(`m${counter.toString(16)},4`), "64000000");
    // A single step moves the pc by one instruction.
    assert.match(await c.ask("s"), /^T05/);
    assert.equal(pcOf(await c.ask("g")), add + 4);
    // The breakpoint stays for the next call (code that already ran).
    assert.match(await c.ask("c"), /^T05thread:[0-9a-f]+;swbreak:;$/);
    assert.equal(await c.ask(`z0,${add.toString(16)},4`), "OK");
    assert.equal(await c.ask("c"), "W01");
    const r = await d.done();
    assert.equal(r.code, 1);
    c.close();
    // add(0, 1) ran as add(40, 1): s = 41 + 2 + 3 = 46 is not 6 (exit 1); counter 100 + 40 + 41 +
    // 43 + 1.
    assert.equal(r.stdout, "sum 46 counter 225\n");
  });
}

Deno.test("rsp: malformed input gets a nak or an empty reply, never a crash", async () => {
  const d = await startDebuggee(socketPath(), target, [], ["--gdb-stop-on-entry"]);
  const c = await RspClient.connect(d.where);
  await c.raw("$g#00"); // wrong checksum
  assert.equal((await c.next()).kind, "nak");
  await c.raw("$" + "q".repeat(0x5000) + "#00"); // longer than PacketSize
  assert.equal((await c.next()).kind, "nak");
  await c.raw("garbage between packets");
  assert.equal(await c.ask("qNoSuchPacket"), "");
  assert.equal(await c.ask("vNoSuchPacket"), "");
  assert.match(await c.ask("mzz,4"), /^E[0-9a-f]{2}$/); // bad hex
  assert.match(await c.ask("m1,4"), /^E[0-9a-f]{2}$/); // unmapped
  assert.match(await c.ask("M1,4:zz"), /^E[0-9a-f]{2}$/);
  assert.match(await c.ask("X1,4:ab"), /^E[0-9a-f]{2}$/); // short binary data
  assert.match(await c.ask("G00"), /^E[0-9a-f]{2}$/); // short register block
  assert.match(await c.ask("p99"), /^E[0-9a-f]{2}$/); // no register 0x99
  assert.match(await c.ask("P0=12"), /^E[0-9a-f]{2}$/); // wrong size
  assert.match(await c.ask("Z0,3,4"), /^E[0-9a-f]{2}$/); // misaligned breakpoint
  assert.equal(await c.ask("Z0,4,4"), "OK"); // not mapped yet: kept for when it is
  assert.match(await c.ask("Hg7fffffff"), /^E[0-9a-f]{2}$/); // no such thread
  assert.match(await c.ask("qXfer:features:read:other.xml:0,100"), /^E[0-9a-f]{2}$/);
  assert.equal(await c.ask("qXfer:nothing:read::0,100"), "");
  assert.match(await c.ask("?"), /^T05/); // still serving
  await c.raw(new Uint8Array([0x24, 0x6b, 0x23, 0x36, 0x62])); // $k#6b: kill
  const r = await d.done();
  c.close();
  assert.equal(r.signal, "SIGKILL");
  assert.ok(!r.stderr.includes("internal error"), r.stderr);
});

Deno.test("rsp: gdb attaching stops a running guest; Ctrl-C stops it again", async () => {
  const d = await startDebuggee(socketPath(), target, ["spin"]);
  const spinning = await symbolAddress(target, "spinning");
  const c = await RspClient.connect(d.where);
  assert.match(await c.ask("qSupported"), /PacketSize/);
  assert.match(await c.ask("?"), /^T05/);
  assert.equal(await c.ask(`m${spinning.toString(16)},4`), "01000000");
  const [body, end] = await loopOf(target, "spin");
  // Continue, then Ctrl-C; on a loaded machine the guest may not have reached its loop yet when
  // the interrupt lands, so it goes on until a stop finds it there.
  let stoppedAt = 0;
  for (let tries = 0; tries < 50; tries++) {
    await c.raw(new TextEncoder().encode("$c#63"));
    assert.equal((await c.next()).kind, "ack");
    if (tries > 0) await new Promise((r) => setTimeout(r, 100));
    await c.raw(new Uint8Array([3]));
    assert.match(await c.reply(), /^T02thread:[0-9a-f]+;$/);
    stoppedAt = pcOf(await c.ask("g"));
    if (stoppedAt >= body && stoppedAt <= end + 4) break;
  }
  // A breakpoint in the loop, code that has run (and been translated) many times, at another
  // instruction than the pc (so that no step off it comes first): it must stop there.
  const pc = stoppedAt === body ? body + 4 : body;
  assert.ok(stoppedAt >= body && stoppedAt <= end + 4, `stopped at ${stoppedAt.toString(16)}`);
  assert.equal(await c.ask(`Z0,${pc.toString(16)},4`), "OK");
  // Without the code invalidation the guest would spin on: a bound (not a speed check) turns
  // that hang into a failure.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const never = new Promise<string>((_, reject) => {
    timer = setTimeout(() => reject(new Error("no stop at the breakpoint: stale code?")), 60_000);
  });
  assert.match(await Promise.race([c.ask("c"), never]), /^T05thread:[0-9a-f]+;$/);
  clearTimeout(timer);
  assert.equal(pcOf(await c.ask("g")), pc);
  assert.equal(await c.ask(`z0,${pc.toString(16)},4`), "OK");
  assert.equal(await c.ask(`M${spinning.toString(16)},4:00000000`), "OK");
  assert.equal(await c.ask("c"), "W00");
  const r = await d.done();
  c.close();
  assert.equal(r.code, 0);
});

Deno.test("rsp: a fault stops with its signal before the guest dies of it", async () => {
  const d = await startDebuggee(socketPath(), target, ["segv"], ["--gdb-stop-on-entry"]);
  const c = await RspClient.connect(d.where);
  assert.match(await c.ask("c"), /^T0bthread:/);
  // Continuing without the signal runs the store again: the same stop.
  assert.match(await c.ask("c"), /^T0bthread:/);
  assert.equal(await c.ask("C0b"), "X0b");
  const r = await d.done();
  c.close();
  assert.equal(r.signal, "SIGSEGV");
});

Deno.test("rsp: detach lets the guest run on to its end", async () => {
  const d = await startDebuggee(socketPath(), target, [], ["--gdb-stop-on-entry"]);
  const c = await RspClient.connect(d.where);
  const add = await symbolAddress(target, "add");
  assert.equal(await c.ask(`Z0,${add.toString(16)},4`), "OK");
  assert.equal(await c.ask("D"), "OK");
  const r = await d.done();
  c.close();
  // The breakpoint went with the debugger.
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "sum 6 counter 5\n");
});

Deno.test("rsp: threads are listed, named and selectable", async () => {
  const threads = new URL("../../fixtures/build/gdb_threads", import.meta.url).pathname;
  const d = await startDebuggee(socketPath(), threads, [], ["--gdb-stop-on-entry"]);
  const c = await RspClient.connect(d.where);
  const at = await symbolAddress(threads, "all_started");
  assert.equal(await c.ask(`Z0,${at.toString(16)},4`), "OK");
  const stop = await c.ask("c");
  assert.match(stop, /^T05thread:([0-9a-f]+);$/); // no swbreak: this client did not offer it
  const list = (await c.ask("qfThreadInfo")).slice(1).split(",");
  assert.equal(list.length, 3);
  assert.equal(await c.ask("qsThreadInfo"), "l");
  const xml = await c.ask("qXfer:threads:read::0,fff");
  assert.equal(xml.match(/<thread id=/g)?.length, 3);
  // Another thread's registers: its pc is not the breakpoint's.
  const other = list.find((t) => !stop.includes(`thread:${t};`))!;
  assert.equal(await c.ask(`T${other}`), "OK");
  assert.equal(await c.ask(`Hg${other}`), "OK");
  assert.notEqual(pcOf(await c.ask("g")), at);
  assert.equal(await c.ask("Hg0"), "OK");
  assert.equal(pcOf(await c.ask("g")), at);
  // Stepping another thread: the computing one takes the vCPU and steps; one parked in a futex
  // wait cannot step before its syscall ends (an error, not a run-away continue). The waiting
  // worker may not have parked yet, so it may step too.
  const others = list.filter((t) => !stop.includes(`thread:${t};`));
  for (const t of others) {
    const r = await c.ask(`vCont;s:${t};c`);
    assert.ok(r === `T05thread:${t};` || /^E[0-9a-f]{2}$/.test(r), r);
    if (r.startsWith("T05")) assert.equal(await c.ask("qC"), `QC${t}`);
  }
  assert.notEqual(await c.ask("qC"), `QC${stop.slice(10, -1)}`); // one of them stepped
  assert.equal(await c.ask(`z0,${at.toString(16)},4`), "OK");
  assert.equal(await c.ask("c"), "W00");
  const r = await d.done();
  c.close();
  assert.equal(r.stdout, "threads 3\n");
});

// Unicorn only: each access to a watched page costs a fault and a step, and on the hvf simulator
// each also flushes every translation (a page-table change): too slow for a test there (this one
// did not finish in 60 s).
for (const backend of ["unicorn"]) {
  Deno.test(`rsp (${backend}): write and access watchpoints stop after the access, naming it`, async () => {
    const d = await startDebuggee(socketPath(), target, [], [
      "--backend",
      backend,
      "--gdb-stop-on-entry",
    ]);
    const c = await RspClient.connect(d.where);
    const counter = await symbolAddress(target, "counter");
    const at = counter.toString(16);
    assert.equal(await c.ask(`Z2,${at},4`), "OK");
    // add(0, 1) stores 0 into counter: a write, reported with the new value in memory.
    assert.match(await c.ask("c"), new RegExp(`^T05thread:[0-9a-f]+;watch:${at};$`));
    assert.equal(await c.ask(`m${at},4`), "00000000");
    assert.match(await c.ask("c"), new RegExp(`;watch:${at};$`));
    assert.equal(await c.ask(`m${at},4`), "01000000");
    assert.equal(await c.ask(`z2,${at},4`), "OK");
    // An access watchpoint sees the load of counter += a.
    assert.equal(await c.ask(`Z4,${at},4`), "OK");
    assert.match(await c.ask("c"), new RegExp(`;awatch:${at};$`));
    assert.equal(await c.ask(`z4,${at},4`), "OK");
    assert.equal(await c.ask("c"), "W00");
    const r = await d.done();
    c.close();
    assert.equal(r.stdout, "sum 6 counter 5\n");
  });
}

Deno.test("rsp: C delivers a signal at a breakpoint stop: the default action ends the guest", async () => {
  const d = await startDebuggee(socketPath(), target, [], ["--gdb-stop-on-entry"]);
  const c = await RspClient.connect(d.where);
  const add = await symbolAddress(target, "add");
  assert.equal(await c.ask(`Z0,${add.toString(16)},4`), "OK");
  assert.match(await c.ask("c"), /^T05/);
  assert.equal(await c.ask("C0a"), "X0a"); // SIGUSR1, no handler: death by it
  const r = await d.done();
  c.close();
  assert.equal(r.signal, "SIGUSR1");
  assert.equal(r.stdout, "");
});

Deno.test("rsp: vFile reads the guest's files (read-only), errors as File-I/O errnos", async () => {
  const d = await startDebuggee(socketPath(), target, [], ["--gdb-stop-on-entry"]);
  const c = await RspClient.connect(d.where);
  const hex = (s: string) => toHex(new TextEncoder().encode(s));
  assert.equal(await c.ask("vFile:setfs:0"), "F0");
  assert.equal(await c.ask(`vFile:open:${hex("/nonexistent/file")},0,0`), "F-1,2");
  assert.equal(await c.ask(`vFile:open:${hex(target)},1,0`), "F-1,d"); // O_WRONLY: refused
  const fd = (await c.ask(`vFile:open:${hex(target)},0,0`)).slice(1);
  assert.match(fd, /^[0-9a-f]+$/);
  const r = await c.ask(`vFile:pread:${fd},4,0`);
  assert.equal(r, "F4;\x7fELF");
  assert.equal(await c.ask(`vFile:close:${fd}`), "F0");
  assert.equal(await c.ask(`vFile:close:${fd}`), "F-1,9");
  assert.equal(await c.ask("vFile:unlink:2f"), ""); // not offered
  assert.equal(await c.ask("k").catch(() => ""), "");
  await d.done();
  c.close();
});

Deno.test("rsp: fork children run free of the parent's breakpoints", async () => {
  const program = new URL("../../fixtures/build/proc_wait", import.meta.url).pathname;
  // Children in processes of their own, which get a copy of the parent's memory (an in-process
  // child runs while the parent is out of Debugger.run, its breakpoints out of memory).
  const d = await startDebuggee(socketPath(), program, [], ["--gdb-stop-on-entry"], {
    ELFUSE_FORK: "process",
  });
  const c = await RspClient.connect(d.where);
  // Every child of proc_wait ends in _exit; the parent reaches it only at its own end.
  const exit = await symbolAddress(program, "_exit");
  assert.equal(await c.ask(`Z0,${exit.toString(16)},4`), "OK");
  assert.match(await c.ask("c"), /^T05/);
  assert.equal(pcOf(await c.ask("g")), exit);
  assert.equal(await c.ask(`z0,${exit.toString(16)},4`), "OK");
  assert.equal(await c.ask("c"), "W00");
  const r = await d.done();
  c.close();
  assert.match(r.stdout, / 0 failed/);
});
