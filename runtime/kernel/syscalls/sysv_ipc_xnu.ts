// System V semaphores and message queues on a macOS host: XNU's own objects (keys, ids and
// permissions shared with every process of the host, as on Linux), with the structures and
// semctl command numbers translated (host/darwin_ipc.ts) and XNU's errnos given in Linux's.
// What XNU lacks is EINVAL, as Linux answers an unknown command: the IPC_INFO, *_INFO and
// *_STAT(_ANY) listings, msgrcv's MSG_EXCEPT and MSG_COPY. semtimedop (XNU has none) polls with
// IPC_NOWAIT every RETRY_MS until its timeout.
import { errno } from "../../host/darwin.ts";
import {
  bindXnuIpc,
  CTL_ON_XNU,
  ipcFromXnu,
  ipcToXnu,
  MSGRCV_LINUX_ONLY,
  MSQID_DS,
  MSQID_FIELDS,
  SEMCTL_TO_XNU,
  SEMID_DS,
  SEMID_FIELDS,
  type XnuIpc,
} from "../../host/darwin_ipc.ts";
import { E } from "../errno.ts";
import { Slot } from "../scratch.ts";
import type { Task } from "../task.ts";
import { retrying } from "./sysv_ipc_wait.ts";

const IPC_NOWAIT = 0o4000, IPC_RMID = 0, IPC_SET = 1, IPC_STAT = 2;
const GETALL = 13, SETALL = 17, SETVAL = 16;
const SEMBUF = 6;

/** The calls, bound at the run's first (a run without System V IPC never opens them). */
const xnu = (k: Task): XnuIpc => k.rt.xnuIpc ??= bindXnuIpc();

/** The failed XNU call's errno as a negative Linux errno. */
const failed = () => -errno();
const result = (r: number) => r < 0 ? failed() : r;

export function semgetXnu(k: Task, a: Float64Array): number {
  return result(xnu(k).semget(a[0] | 0, a[1] | 0, a[2] | 0));
}

export function semtimedopXnu(
  k: Task,
  id: number,
  sops: number,
  nsops: number,
  timeout: number,
): number {
  if (nsops < 1) return -E.EINVAL;
  if (nsops > 500) return -E.E2BIG; // SEMOPM
  if (!k.proc.canRead(sops, nsops * SEMBUF)) return -E.EFAULT;
  if (timeout !== 0 && !k.proc.canRead(timeout, 16)) return -E.EFAULT;
  let blocking = false;
  for (let i = 0; i < nsops; i++) {
    if ((k.proc.view.getInt16(sops + i * SEMBUF + 4, true) & IPC_NOWAIT) === 0) blocking = true;
  }
  const until = () =>
    timeout === 0
      ? Infinity
      : performance.now() + k.proc.readI64(timeout) * 1e3 + k.proc.readI64(timeout + 8) / 1e6;
  return retrying(
    k,
    blocking,
    until,
    (nowait) => {
      if (!nowait) return xnu(k).semop(id, k.proc.hostBase + sops, nsops);
      const s = k.rt.scratch, at = Slot.BUFFER;
      s.u8.set(k.proc.mem.subarray(sops, sops + nsops * SEMBUF), at);
      for (let i = 0; i < nsops; i++) {
        const o = at + i * SEMBUF + 4;
        s.view.setInt16(o, s.view.getInt16(o, true) | IPC_NOWAIT, true);
      }
      return xnu(k).semop(id, s.address + at, nsops);
    },
    E.EAGAIN,
    timeout !== 0,
    failed,
  );
}

export function semctlXnu(k: Task, a: Float64Array): number {
  const id = a[0] | 0, num = a[1] | 0, cmd = (a[2] | 0) & ~0x100, arg = a[3];
  const x = SEMCTL_TO_XNU.get(cmd);
  if (x === undefined) return -E.EINVAL;
  const s = k.rt.scratch, at = Slot.BUFFER, host = s.address + at;
  switch (cmd) {
    case IPC_STAT: {
      if (!k.proc.canWrite(arg, SEMID_DS.linux)) return -E.EFAULT;
      if (xnu(k).semctl(id, num, x, host) < 0) return failed();
      ipcFromXnu(SEMID_FIELDS, SEMID_DS.linux, s.view, at, k.proc.view, arg);
      return 0;
    }
    case IPC_SET:
      if (!k.proc.canRead(arg, SEMID_DS.linux)) return -E.EFAULT;
      ipcToXnu(SEMID_FIELDS, SEMID_DS.xnu, k.proc.view, arg, s.view, at);
      return result(xnu(k).semctl(id, num, x, host));
    case GETALL:
    case SETALL: {
      // nsems unsigned shorts, the same on both: how many the set has, first.
      if (xnu(k).semctl(id, 0, IPC_STAT, host) < 0) return failed();
      const nsems = s.view.getUint16(at + 28, true);
      const ok = cmd === GETALL ? k.proc.canWrite(arg, nsems * 2) : k.proc.canRead(arg, nsems * 2);
      if (!ok) return -E.EFAULT;
      return result(xnu(k).semctl(id, num, x, k.proc.hostBase + arg));
    }
    case SETVAL:
      return result(xnu(k).semctl(id, num, x, arg >>> 0)); // the union's int
    default:
      return result(xnu(k).semctl(id, num, x, 0));
  }
}

export function msggetXnu(k: Task, a: Float64Array): number {
  return result(xnu(k).msgget(a[0] | 0, a[1] | 0));
}

export function msgsndXnu(k: Task, a: Float64Array): number {
  const id = a[0] | 0, msgp = a[1], size = a[2], flg = a[3] | 0;
  if (size < 0 || size > 0x7fffffff) return -E.EINVAL;
  if (!k.proc.canRead(msgp, 8 + size)) return -E.EFAULT;
  return retrying(
    k,
    (flg & IPC_NOWAIT) === 0,
    () => Infinity,
    (nowait) => {
      return xnu(k).msgsnd(id, k.proc.hostBase + msgp, size, flg | (nowait ? IPC_NOWAIT : 0));
    },
    E.EAGAIN,
    false,
    failed,
  );
}

export function msgrcvXnu(k: Task, a: Float64Array): number {
  const id = a[0] | 0, msgp = a[1], size = a[2], type = a[3], flg = a[4] | 0;
  if ((flg & MSGRCV_LINUX_ONLY) !== 0) return -E.EINVAL;
  if (size < 0 || size > 0x7fffffff) return -E.EINVAL;
  if (!k.proc.canWrite(msgp, 8 + size)) return -E.EFAULT;
  return retrying(
    k,
    (flg & IPC_NOWAIT) === 0,
    () => Infinity,
    (nowait) => {
      const f = flg | (nowait ? IPC_NOWAIT : 0);
      return xnu(k).msgrcv(id, k.proc.hostBase + msgp, size, type, f);
    },
    E.ENOMSG,
    false,
    failed,
  );
}

export function msgctlXnu(k: Task, a: Float64Array): number {
  const id = a[0] | 0, cmd = (a[1] | 0) & ~0x100, buf = a[2];
  if (!CTL_ON_XNU.has(cmd)) return -E.EINVAL;
  if (cmd === IPC_RMID) return result(xnu(k).msgctl(id, cmd, 0));
  const s = k.rt.scratch, at = Slot.BUFFER;
  if (cmd === IPC_STAT) {
    if (!k.proc.canWrite(buf, MSQID_DS.linux)) return -E.EFAULT;
    if (xnu(k).msgctl(id, cmd, s.address + at) < 0) return failed();
    ipcFromXnu(MSQID_FIELDS, MSQID_DS.linux, s.view, at, k.proc.view, buf);
    return 0;
  }
  if (!k.proc.canRead(buf, MSQID_DS.linux)) return -E.EFAULT;
  ipcToXnu(MSQID_FIELDS, MSQID_DS.xnu, k.proc.view, buf, s.view, at);
  return result(xnu(k).msgctl(id, cmd, s.address + at));
}
