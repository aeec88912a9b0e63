import assert from "node:assert/strict";
import { Runtime } from "../runtime.ts";
import type { Process } from "../process.ts";
import { card, publish, withdraw } from "./registry.ts";
import { Live, readLive, refreshLive } from "./live.ts";
import { slabRss } from "./other_process.ts";

const linux = Deno.build.os === "linux";

Deno.test({
  name: "registry: a card for a live process, none for a gone one or a reused pid",
  ignore: !linux,
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    const before = Deno.env.get("ELFUSE_PROCS");
    Deno.env.set("ELFUSE_PROCS", dir);
    try {
      const rt = new Runtime();
      const info = { argv: ["/bin/guest", "-x"], envp: ["A=1"], exePath: "/bin/guest" };
      const actions = Array.from({ length: 65 }, () => ({ handler: 0 }));
      actions[10].handler = 0x4000; // SIGUSR1 caught
      actions[13].handler = 1; // SIGPIPE ignored
      const proc = {
        rt,
        pid: Deno.pid,
        info: { ...info, hostExePath: "/sr/bin/guest" },
        hostBase: 0x10000,
        as: { slab: { size: 1 << 20 }, vmas: { list: [{ start: 0, end: 0x3000 }] } },
        tasks: [{ tid: Deno.pid, signals: { maskHi: 1, maskLo: 0x80000000 } }],
        actions,
      };
      publish(proc as unknown as Process);
      const c = card(rt, Deno.pid);
      assert.deepEqual(c?.argv, ["/bin/guest", "-x"]);
      assert.equal(c?.exe, "/bin/guest");
      assert.equal(rt.ownsRegistry, false, "a directory named by ELFUSE_PROCS is the run's");

      // The live page: what the process stored, read back through the file.
      let f = readLive(c!.live!)!;
      assert.deepEqual([...f.subarray(0, Live.COUNT)], [
        0x3000,
        1,
        1,
        0x80000000,
        0,
        1 << 12,
        0,
        1 << 9,
        0x10000,
        1 << 20,
        Deno.pid,
      ]);
      proc.as.vmas.list.push({ start: 0x10000, end: 0x20000 });
      proc.tasks.push({ tid: Deno.pid + 1, signals: { maskHi: 0, maskLo: 0 } });
      actions[10].handler = 0;
      const p = proc as unknown as Process;
      refreshLive(p, p.live!);
      f = readLive(c!.live!)!;
      assert.equal(f[Live.SIZE], 0x13000);
      assert.equal(f[Live.THREADS], 2);
      assert.equal(f[Live.CGT_LO], 0);

      // A card whose start time is not the process's: the pid names another process now.
      Deno.writeTextFileSync(`${dir}/${Deno.pid}`, JSON.stringify({ ...c, start: "1" }));
      assert.equal(card(rt, Deno.pid), undefined);
      assert.throws(() => Deno.statSync(`${dir}/${Deno.pid}`), "the stale card is removed");

      // A process that has ended.
      const child = new Deno.Command("true").spawn();
      const pid = child.pid;
      await child.status;
      Deno.writeTextFileSync(`${dir}/${pid}`, JSON.stringify(c));
      assert.equal(card(rt, pid), undefined);

      publish(proc as unknown as Process);
      withdraw(proc as unknown as Process);
      assert.equal(card(rt, Deno.pid), undefined, "withdrawn");
      assert.equal(readLive(c!.live!), undefined, "its page removed");
    } finally {
      if (before === undefined) Deno.env.delete("ELFUSE_PROCS");
      else Deno.env.set("ELFUSE_PROCS", before);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test("registry: another process's Rss is the host's Rss of its slab's mappings", () => {
  const smaps = [
    "00400000-00500000 r-xp 00000000 08:01 1 /deno",
    "Rss:                 900 kB",
    "10000000-10100000 rw-p 00000000 00:00 0",
    "Rss:                  12 kB",
    "10100000-10200000 rw-s 00000000 00:01 5 /memfd:x",
    "Size:                 1024 kB",
    "Rss:                   8 kB",
    "10200000-10300000 rw-p 00000000 00:00 0",
    "Rss:                 100 kB",
  ].join("\n");
  assert.equal(slabRss(smaps, 0x10000000, 0x200000), 20 * 1024);
});
