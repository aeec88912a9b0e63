import assert from "node:assert/strict";
import { renderSyscallDocs } from "../../tools/gen_syscall_docs.ts";
import { handlerTable, tableRows } from "./table.ts";

Deno.test("every row names a real aarch64 syscall once, with a handler or a fixed errno", () => {
  const rows = tableRows();
  assert.ok(rows.length > 300);
  const handlers = handlerTable(rows);
  for (const r of rows) {
    if (r.status === "missing") {
      assert.equal(handlers[r.nr], undefined, `${r.name} has no row, so no handler`);
      continue;
    }
    assert.ok(handlers[r.nr], `${r.name} (${r.status}) must have a handler`);
    if (r.status === "partial") {
      assert.ok(r.note.length > 0, `${r.name} is partial: say what is missing`);
    }
    if (r.status === "errno") {
      assert.ok(r.note.length > 0 && r.def?.errno, `${r.name}: give the errno and why`);
    }
  }
  const byName = new Map(rows.map((r) => [r.name, r.nr]));
  assert.equal(byName.get("read"), 63);
  assert.equal(byName.get("openat"), 56);
  assert.equal(byName.get("exit_group"), 94);
  assert.equal(byName.get("mmap"), 222);
});

Deno.test("docs/syscalls.md is up to date with the table (run `deno task docs`)", () => {
  const committed = Deno.readTextFileSync(new URL("../../docs/syscalls.md", import.meta.url));
  assert.equal(committed, renderSyscallDocs());
});
