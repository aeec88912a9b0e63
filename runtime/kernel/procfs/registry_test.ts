import assert from "node:assert/strict";
import { Runtime } from "../runtime.ts";
import type { Process } from "../process.ts";
import { card, publish, withdraw } from "./registry.ts";

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
      const proc = { rt, pid: Deno.pid, info: { ...info, hostExePath: "/sr/bin/guest" } };
      publish(proc as unknown as Process);
      const c = card(rt, Deno.pid);
      assert.deepEqual(c?.argv, ["/bin/guest", "-x"]);
      assert.equal(c?.exe, "/bin/guest");
      assert.equal(rt.ownsRegistry, false, "a directory named by ELFUSE_PROCS is the run's");

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
      withdraw(rt, Deno.pid);
      assert.equal(card(rt, Deno.pid), undefined, "withdrawn");
    } finally {
      if (before === undefined) Deno.env.delete("ELFUSE_PROCS");
      else Deno.env.set("ELFUSE_PROCS", before);
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
