// Backend selection: hvf only where Hypervisor.framework can exist, a one-line error elsewhere.
import assert from "node:assert/strict";
import { createBackend, defaultBackend, hostHasHvf } from "./select.ts";

Deno.test({
  name: "select: without Hypervisor.framework, hvf is a one-line error and unicorn the default",
  ignore: hostHasHvf(),
  async fn() {
    const d = defaultBackend();
    assert.equal(d.name, "unicorn");
    assert.match(d.reason, /macOS on Apple Silicon/);
    await assert.rejects(
      () => createBackend("hvf", { hostBase: 0, size: 0 }),
      (e: Error) => !e.message.includes("\n") && /--backend unicorn/.test(e.message),
    );
  },
});

Deno.test({
  name: "select: on Apple silicon the default is hvf exactly when a VM can be created",
  ignore: !hostHasHvf(),
  async fn() {
    const d = defaultBackend();
    const { probeHvf } = await import("./select.ts");
    assert.equal(d.name, probeHvf() === undefined ? "hvf" : "unicorn", d.reason);
  },
});
