// System V IPC structures and command numbers between Linux (the guest's asm-generic layouts) and
// XNU (macOS's libc). XNU's ipc_perm, semid_ds, msqid_ds and shmid_ds are its "new" (64-bit,
// UNIX03) structures, packed to 4 bytes (bsd/sys/{ipc,sem,msg,shm}.h: #pragma pack(4)), so a
// time_t may sit at an offset that is not a multiple of 8. Each structure is a table of fields
// (Linux offset and width, XNU offset and width): what one side has that the other has not
// (Linux's padding and unused words, XNU's kernel pointers and pads) is zero.
import type { NumberArgs } from "./ffi_types.ts";

/** One field: Linux offset, Linux width, XNU offset, XNU width (widths 2, 4 or 8 bytes). */
export type IpcField = readonly [number, number, number, number];

/** ipc64_perm (Linux, 48 bytes) and XNU's __ipc_perm_new (24 bytes). */
const PERM: IpcField[] = [
  [0, 4, 20, 4], // key (XNU _key)
  [4, 4, 0, 4], // uid
  [8, 4, 4, 4], // gid
  [12, 4, 8, 4], // cuid
  [16, 4, 12, 4], // cgid
  [20, 4, 16, 2], // mode: XNU's mode_t is 16 bits
  [24, 2, 18, 2], // seq (XNU _seq)
];

/** semid64_ds (88 bytes) and XNU's __semid_ds_new (72). */
export const SEMID_FIELDS: IpcField[] = [
  ...PERM,
  [48, 8, 32, 8], // sem_otime
  [56, 8, 44, 8], // sem_ctime
  [64, 8, 28, 2], // sem_nsems (XNU unsigned short)
];

/** msqid64_ds (120 bytes) and XNU's __msqid_ds_new (116). */
export const MSQID_FIELDS: IpcField[] = [
  ...PERM,
  [48, 8, 64, 8], // msg_stime
  [56, 8, 76, 8], // msg_rtime
  [64, 8, 88, 8], // msg_ctime
  [72, 8, 32, 8], // msg_cbytes
  [80, 8, 40, 8], // msg_qnum
  [88, 8, 48, 8], // msg_qbytes
  [96, 4, 56, 4], // msg_lspid
  [100, 4, 60, 4], // msg_lrpid
];

/** shmid64_ds (112 bytes) and XNU's __shmid_ds_new (76). */
export const SHMID_FIELDS: IpcField[] = [
  ...PERM,
  [48, 8, 24, 8], // shm_segsz
  [56, 8, 44, 8], // shm_atime
  [64, 8, 52, 8], // shm_dtime
  [72, 8, 60, 8], // shm_ctime
  [80, 4, 36, 4], // shm_cpid
  [84, 4, 32, 4], // shm_lpid
  [88, 8, 40, 2], // shm_nattch (XNU short)
];

/** Sizes: the guest's structure and XNU's. */
export const SEMID_DS = { linux: 88, xnu: 72 };
export const MSQID_DS = { linux: 120, xnu: 116 };
export const SHMID_DS = { linux: 112, xnu: 76 };

function get(v: DataView, at: number, width: number): bigint {
  if (width === 2) return BigInt(v.getUint16(at, true));
  if (width === 4) return BigInt(v.getUint32(at, true));
  return v.getBigUint64(at, true);
}

function put(v: DataView, at: number, width: number, x: bigint): void {
  if (width === 2) v.setUint16(at, Number(x & 0xffffn), true);
  else if (width === 4) v.setUint32(at, Number(x & 0xffffffffn), true);
  else v.setBigUint64(at, x, true);
}

/** Writes the Linux structure at `to` (`size` bytes, zeroed first) from XNU's at `from`. */
export function ipcFromXnu(
  fields: IpcField[],
  size: number,
  from: DataView,
  fromAt: number,
  to: DataView,
  toAt: number,
): void {
  copyFields(fields, size, from, fromAt, to, toAt, false);
}

/** Writes XNU's structure at `to` (`size` bytes, zeroed first) from the Linux one at `from`. */
export function ipcToXnu(
  fields: IpcField[],
  size: number,
  from: DataView,
  fromAt: number,
  to: DataView,
  toAt: number,
): void {
  copyFields(fields, size, from, fromAt, to, toAt, true);
}

/** Copies each [linux offset, width, xnu offset, width] field one way, the target zeroed first. */
function copyFields(
  fields: IpcField[],
  size: number,
  from: DataView,
  fromAt: number,
  to: DataView,
  toAt: number,
  toXnu: boolean,
): void {
  for (let i = 0; i < size; i++) to.setUint8(toAt + i, 0);
  for (const [lo, lw, xo, xw] of fields) {
    if (toXnu) put(to, toAt + xo, xw, get(from, fromAt + lo, lw));
    else put(to, toAt + lo, lw, get(from, fromAt + xo, xw));
  }
}

/**
 * semctl commands: Linux's number to XNU's (bsd/sys/sem.h: GETNCNT 3, GETPID 4, GETVAL 5,
 * GETALL 6, GETZCNT 7, SETVAL 8, SETALL 9; IPC_RMID, IPC_SET and IPC_STAT are 0-2 on both).
 * Linux's IPC_INFO, SEM_INFO, SEM_STAT and SEM_STAT_ANY have no XNU counterpart: absent.
 */
export const SEMCTL_TO_XNU: ReadonlyMap<number, number> = new Map([
  [0, 0], // IPC_RMID
  [1, 1], // IPC_SET
  [2, 2], // IPC_STAT
  [11, 4], // GETPID
  [12, 5], // GETVAL
  [13, 6], // GETALL
  [14, 3], // GETNCNT
  [15, 7], // GETZCNT
  [16, 8], // SETVAL
  [17, 9], // SETALL
]);

/**
 * msgctl and shmctl commands XNU has: IPC_RMID, IPC_SET, IPC_STAT, with Linux's numbers. The
 * *_INFO and *_STAT(_ANY) listings and SHM_LOCK/SHM_UNLOCK are Linux's only.
 */
export const CTL_ON_XNU: ReadonlySet<number> = new Set([0, 1, 2]);

/**
 * Flags with the same bits on both (IPC_CREAT 0o1000, IPC_EXCL 0o2000, IPC_NOWAIT 0o4000,
 * SEM_UNDO and MSG_NOERROR 0o10000, SHM_RDONLY 0o10000, SHM_RND 0o20000, the permission bits).
 * What is Linux's only: MSG_EXCEPT 0o20000 and MSG_COPY 0o40000 (msgrcv), SHM_REMAP 0o40000 and
 * SHM_EXEC 0o100000 (shmat), SHM_HUGETLB and SHM_NORESERVE (shmget). A call with one is EINVAL.
 */
export const MSGRCV_LINUX_ONLY = 0o20000 | 0o40000;

/**
 * XNU's System V calls in libSystem, bound on first use (macOS hosts only). semctl is variadic
 * in C, and Apple arm64 passes variadic arguments on the stack, so its non-variadic system-call
 * stub __semctl(id, num, cmd, semun) is bound instead; the others have fixed arguments.
 */
const XNU_IPC = {
  semget: { parameters: ["i32", "i32", "i32"], result: "i32" },
  semop: { parameters: ["i32", "usize", "usize"], result: "i32" },
  __semctl: { parameters: ["i32", "i32", "i32", "usize"], result: "i32" },
  msgget: { parameters: ["i32", "i32"], result: "i32" },
  msgsnd: { parameters: ["i32", "usize", "usize", "i32"], result: "i32" },
  msgrcv: { parameters: ["i32", "usize", "usize", "i64", "i32"], result: "isize" },
  msgctl: { parameters: ["i32", "i32", "usize"], result: "i32" },
} as const;

/** The bound calls (numbers in, numbers out). */
export interface XnuIpc {
  semget(key: number, nsems: number, flags: number): number;
  semop(id: number, sops: number, nsops: number): number;
  semctl(id: number, num: number, cmd: number, arg: number): number;
  msgget(key: number, flags: number): number;
  msgsnd(id: number, msgp: number, size: number, flags: number): number;
  msgrcv(id: number, msgp: number, size: number, type: number, flags: number): number;
  msgctl(id: number, cmd: number, buf: number): number;
}

/** Binds XNU's calls (the first System V call on a macOS host does). */
export function bindXnuIpc(): XnuIpc {
  const s = Deno.dlopen("/usr/lib/libSystem.B.dylib", XNU_IPC).symbols as NumberArgs<
    Deno.DynamicLibrary<typeof XNU_IPC>["symbols"]
  >;
  return {
    semget: (key, n, f) => s.semget(key, n, f),
    semop: (id, sops, n) => s.semop(id, sops, n),
    semctl: (id, num, cmd, arg) => s.__semctl(id, num, cmd, arg),
    msgget: (key, f) => s.msgget(key, f),
    msgsnd: (id, p, n, f) => s.msgsnd(id, p, n, f),
    msgrcv: (id, p, n, t, f) => Number(s.msgrcv(id, p, n, t, f)),
    msgctl: (id, cmd, buf) => s.msgctl(id, cmd, buf),
  };
}
