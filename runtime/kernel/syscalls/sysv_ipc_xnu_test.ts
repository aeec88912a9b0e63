// The macOS handlers, run on any host against a stand-in for XNU's calls: what they pass to XNU
// (command numbers, structures in XNU's layout) and what the guest gets back (Linux's layout,
// Linux's errnos).
import assert from "node:assert/strict";
import { setHostErrno } from "../../host/libc.ts";
import type { XnuIpc } from "../../host/darwin_ipc.ts";
import { E } from "../errno.ts";
import { Runtime } from "../runtime.ts";
import { Slot } from "../scratch.ts";
import type { Task } from "../task.ts";
import { msgctlXnu, msgrcvXnu, semctlXnu } from "./sysv_ipc_xnu.ts";

const GUEST = 0x1000;

function setup(overrides: Partial<XnuIpc>) {
  const rt = new Runtime();
  const calls: unknown[][] = [];
  const fail = () => {
    throw new Error("not expected");
  };
  rt.xnuIpc = {
    semget: fail,
    semop: fail,
    semctl: fail,
    msgget: fail,
    msgsnd: fail,
    msgrcv: fail,
    msgctl: fail,
    ...overrides,
  };
  for (const [name, fn] of Object.entries(rt.xnuIpc)) {
    (rt.xnuIpc as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
      calls.push([name, ...args]);
      return (fn as (...a: unknown[]) => number)(...args);
    };
  }
  const mem = new Uint8Array(0x4000);
  const proc = {
    hostBase: 0x7000_0000,
    mem,
    view: new DataView(mem.buffer),
    tasks: [{}],
    canRead: (a: number, n: number) => a + n <= mem.length,
    canWrite: (a: number, n: number) => a + n <= mem.length,
  };
  const k = { rt, proc, resumed: () => undefined } as unknown as Task;
  const scratch = rt.scratch.address + Slot.BUFFER;
  return { rt, k, proc, calls, scratch, s: rt.scratch.view, at: Slot.BUFFER };
}

Deno.test("xnu ipc: semctl IPC_STAT reads XNU's semid_ds and gives the guest Linux's", () => {
  const t = setup({});
  t.rt.xnuIpc!.semctl = (_id, _num, cmd, buf) => {
    assert.equal(cmd, 2);
    assert.equal(buf, t.scratch);
    t.s.setUint32(t.at, 1000, true); // uid
    t.s.setUint16(t.at + 16, 0o600, true); // mode
    t.s.setInt32(t.at + 20, 0x42, true); // key
    t.s.setUint16(t.at + 28, 3, true); // nsems
    t.s.setBigInt64(t.at + 44, 99n, true); // ctime
    return 0;
  };
  const r = semctlXnu(t.k, new Float64Array([7, 0, 0x100 | 2, GUEST]));
  assert.equal(r, 0);
  assert.equal(t.proc.view.getInt32(GUEST, true), 0x42);
  assert.equal(t.proc.view.getUint32(GUEST + 4, true), 1000);
  assert.equal(t.proc.view.getUint32(GUEST + 20, true), 0o600);
  assert.equal(t.proc.view.getBigUint64(GUEST + 56, true), 99n);
  assert.equal(t.proc.view.getBigUint64(GUEST + 64, true), 3n);
});

Deno.test("xnu ipc: semctl commands go in XNU's numbers; Linux-only ones are EINVAL", () => {
  const t = setup({ semctl: () => 5 });
  assert.equal(semctlXnu(t.k, new Float64Array([7, 1, 12, 0])), 5); // GETVAL
  assert.deepEqual(t.calls.pop(), ["semctl", 7, 1, 5, 0]);
  assert.equal(semctlXnu(t.k, new Float64Array([7, 1, 16, 2 ** 32 - 1])), 5); // SETVAL -1
  assert.deepEqual(t.calls.pop(), ["semctl", 7, 1, 8, 2 ** 32 - 1]);
  assert.equal(semctlXnu(t.k, new Float64Array([7, 0, 19, GUEST])), -E.EINVAL); // SEM_INFO
  assert.equal(t.calls.length, 0, "XNU is not asked");
});

Deno.test("xnu ipc: msgctl IPC_SET passes XNU's msqid_ds", () => {
  const t = setup({});
  t.proc.view.setUint32(GUEST + 4, 501, true); // uid
  t.proc.view.setUint32(GUEST + 20, 0o640, true); // mode
  t.proc.view.setBigUint64(GUEST + 88, 4096n, true); // qbytes
  t.rt.xnuIpc!.msgctl = (_id, cmd, buf) => {
    assert.equal(cmd, 1);
    assert.equal(buf, t.scratch);
    assert.equal(t.s.getUint32(t.at, true), 501);
    assert.equal(t.s.getUint16(t.at + 16, true), 0o640);
    assert.equal(t.s.getBigUint64(t.at + 48, true), 4096n);
    return 0;
  };
  assert.equal(msgctlXnu(t.k, new Float64Array([3, 1, GUEST])), 0);
  assert.equal(msgctlXnu(t.k, new Float64Array([3, 12, GUEST])), -E.EINVAL); // MSG_INFO
});

Deno.test("xnu ipc: msgrcv gives XNU's errnos in Linux's numbers and refuses MSG_EXCEPT", () => {
  const t = setup({
    msgrcv: () => {
      setHostErrno(91); // XNU's ENOMSG
      return -1;
    },
  });
  const IPC_NOWAIT = 0o4000, MSG_EXCEPT = 0o20000;
  assert.equal(msgrcvXnu(t.k, new Float64Array([3, GUEST, 64, 0, IPC_NOWAIT])), -E.ENOMSG);
  assert.equal(msgrcvXnu(t.k, new Float64Array([3, GUEST, 64, 1, MSG_EXCEPT])), -E.EINVAL);
  assert.equal(msgrcvXnu(t.k, new Float64Array([3, 0x3ff0, 64, 0, IPC_NOWAIT])), -E.EFAULT);
});
