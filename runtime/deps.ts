// The one place where standard-library dependencies are chosen. The user asked for @std/cli,
// @std/assert and @std/path from JSR; JSR is unreachable from the build machines, so Deno's
// built-in Node modules stand in. Switching back is a change to this file (and assert imports in
// tests, which use node:assert/strict directly).
// The runtime's own path helpers live in runtime/path.ts: the first node: import costs ~4.5 ms of
// start-up, so cli.ts loads this module only when there are options to parse.
export { parseArgs } from "node:util";
