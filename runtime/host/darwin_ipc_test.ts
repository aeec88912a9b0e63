import assert from "node:assert/strict";
import {
  ipcFromXnu,
  ipcToXnu,
  MSQID_DS,
  MSQID_FIELDS,
  SEMCTL_TO_XNU,
  SEMID_DS,
  SEMID_FIELDS,
  SHMID_DS,
  SHMID_FIELDS,
} from "./darwin_ipc.ts";

/** An XNU __ipc_perm_new at `at`: uid 1000, gid 20, cuid 501, cgid 12, mode 0o600, seq 3, key. */
function xnuPerm(v: DataView, at: number, key: number): void {
  v.setUint32(at, 1000, true);
  v.setUint32(at + 4, 20, true);
  v.setUint32(at + 8, 501, true);
  v.setUint32(at + 12, 12, true);
  v.setUint16(at + 16, 0o600, true);
  v.setUint16(at + 18, 3, true);
  v.setInt32(at + 20, key, true);
}

function linuxPerm(v: DataView, at: number): number[] {
  return [0, 4, 8, 12, 16, 20].map((o) => v.getUint32(at + o, true)).concat(
    v.getUint16(at + 24, true),
  );
}

Deno.test("darwin ipc: semid_ds from XNU's packed layout to Linux's and back", () => {
  const x = new DataView(new ArrayBuffer(SEMID_DS.xnu + 8)), at = 8;
  xnuPerm(x, at, 0x1234);
  x.setUint16(at + 28, 5, true); // sem_nsems
  x.setBigInt64(at + 32, 1700000000n, true); // sem_otime, at 32 (packed 4)
  x.setBigInt64(at + 44, 1700000009n, true); // sem_ctime, at 44
  const l = new DataView(new ArrayBuffer(SEMID_DS.linux));
  new Uint8Array(l.buffer).fill(0xaa);
  ipcFromXnu(SEMID_FIELDS, SEMID_DS.linux, x, at, l, 0);
  assert.deepEqual(linuxPerm(l, 0), [0x1234, 1000, 20, 501, 12, 0o600, 3]);
  assert.equal(l.getBigUint64(48, true), 1700000000n);
  assert.equal(l.getBigUint64(56, true), 1700000009n);
  assert.equal(l.getBigUint64(64, true), 5n);
  assert.equal(l.getBigUint64(72, true), 0n, "Linux's unused words are zero");
  const back = new DataView(new ArrayBuffer(SEMID_DS.xnu + 8));
  ipcToXnu(SEMID_FIELDS, SEMID_DS.xnu, l, 0, back, at);
  assert.deepEqual(new Uint8Array(back.buffer), new Uint8Array(x.buffer));
});

Deno.test("darwin ipc: msqid_ds fields land where each side has them", () => {
  const l = new DataView(new ArrayBuffer(MSQID_DS.linux));
  l.setUint32(4, 77, true); // uid
  l.setUint32(20, 0o640, true); // mode
  l.setBigUint64(48, 11n, true); // stime
  l.setBigUint64(56, 22n, true); // rtime
  l.setBigUint64(64, 33n, true); // ctime
  l.setBigUint64(72, 100n, true); // cbytes
  l.setBigUint64(80, 2n, true); // qnum
  l.setBigUint64(88, 16384n, true); // qbytes
  l.setUint32(96, 4242, true); // lspid
  l.setUint32(100, 4343, true); // lrpid
  const x = new DataView(new ArrayBuffer(MSQID_DS.xnu));
  ipcToXnu(MSQID_FIELDS, MSQID_DS.xnu, l, 0, x, 0);
  assert.equal(x.getUint32(0, true), 77);
  assert.equal(x.getUint16(16, true), 0o640);
  assert.equal(x.getBigUint64(32, true), 100n);
  assert.equal(x.getBigUint64(40, true), 2n);
  assert.equal(x.getBigUint64(48, true), 16384n);
  assert.equal(x.getUint32(56, true), 4242);
  assert.equal(x.getUint32(60, true), 4343);
  assert.equal(x.getBigInt64(64, true), 11n);
  assert.equal(x.getBigInt64(76, true), 22n);
  assert.equal(x.getBigInt64(88, true), 33n);
  const l2 = new DataView(new ArrayBuffer(MSQID_DS.linux));
  ipcFromXnu(MSQID_FIELDS, MSQID_DS.linux, x, 0, l2, 0);
  assert.deepEqual(new Uint8Array(l2.buffer), new Uint8Array(l.buffer));
});

Deno.test("darwin ipc: shmid_ds segsz, pids and a 16-bit nattch", () => {
  const x = new DataView(new ArrayBuffer(SHMID_DS.xnu));
  xnuPerm(x, 0, -1 >>> 0);
  x.setBigUint64(24, 65536n, true);
  x.setInt32(32, 10, true); // lpid
  x.setInt32(36, 9, true); // cpid
  x.setUint16(40, 2, true); // nattch
  x.setBigInt64(44, 1n, true);
  x.setBigInt64(52, 2n, true);
  x.setBigInt64(60, 3n, true);
  const l = new DataView(new ArrayBuffer(SHMID_DS.linux));
  ipcFromXnu(SHMID_FIELDS, SHMID_DS.linux, x, 0, l, 0);
  assert.equal(l.getInt32(0, true), -1, "IPC_PRIVATE's key survives");
  assert.equal(l.getBigUint64(48, true), 65536n);
  assert.deepEqual([56, 64, 72].map((o) => l.getBigUint64(o, true)), [1n, 2n, 3n]);
  assert.equal(l.getInt32(80, true), 9);
  assert.equal(l.getInt32(84, true), 10);
  assert.equal(l.getBigUint64(88, true), 2n);
});

Deno.test("darwin ipc: the field tables stay inside both structures and never overlap", () => {
  for (
    const [fields, size] of [
      [SEMID_FIELDS, SEMID_DS],
      [MSQID_FIELDS, MSQID_DS],
      [SHMID_FIELDS, SHMID_DS],
    ] as const
  ) {
    for (const side of [0, 2]) {
      const limit = side === 0 ? size.linux : size.xnu;
      const used = new Uint8Array(limit);
      for (const f of fields) {
        const at = f[side], width = f[side + 1];
        assert.ok(at + width <= limit, `field at ${at} fits in ${limit}`);
        for (let i = at; i < at + width; i++) assert.equal(used[i]++, 0, `byte ${i} used once`);
      }
    }
  }
});

Deno.test("darwin ipc: semctl commands in XNU's numbers", () => {
  assert.equal(SEMCTL_TO_XNU.get(12), 5); // GETVAL
  assert.equal(SEMCTL_TO_XNU.get(16), 8); // SETVAL
  assert.equal(SEMCTL_TO_XNU.get(13), 6); // GETALL
  assert.equal(SEMCTL_TO_XNU.get(2), 2); // IPC_STAT
  assert.equal(SEMCTL_TO_XNU.get(19), undefined, "SEM_INFO: Linux's only");
  assert.equal(new Set(SEMCTL_TO_XNU.values()).size, SEMCTL_TO_XNU.size, "one to one");
});
