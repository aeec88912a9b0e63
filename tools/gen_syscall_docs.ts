// Writes docs/syscalls.md from the syscall table (`deno task docs`). A test fails when the
// committed file differs from what this renders.
import { tableRows } from "../runtime/kernel/table.ts";

const statusText: Record<string, string> = {
  supported: "supported",
  partial: "partial",
  errno: "fixed error",
  missing: "not implemented (ENOSYS)",
};

/** The Markdown text of docs/syscalls.md. */
export function renderSyscallDocs(): string {
  const rows = tableRows();
  const count = (s: string) => rows.filter((r) => r.status === s).length;
  const lines = [
    "# Syscalls (Linux aarch64)",
    "",
    "Generated from `runtime/kernel/table.ts` by `deno task docs`; do not edit by hand.",
    "",
    `${rows.length} syscall numbers: ${count("supported")} supported, ${
      count("partial")
    } partial, ` +
    `${count("errno")} answering a fixed error, ${
      count("missing")
    } not implemented (they return ENOSYS).`,
    "",
    "| nr | name | status | notes |",
    "|---:|---|---|---|",
  ];
  for (const r of rows) {
    const note = r.status === "errno" ? `${r.def?.errno}: ${r.note}` : r.note;
    lines.push(
      `| ${r.nr} | ${r.name} | ${statusText[r.status]} | ${note.replaceAll("|", "\\|")} |`,
    );
  }
  return lines.join("\n") + "\n";
}

if (import.meta.main) {
  const path = new URL("../docs/syscalls.md", import.meta.url);
  Deno.writeTextFileSync(path, renderSyscallDocs());
  console.log("wrote docs/syscalls.md");
}
