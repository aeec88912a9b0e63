// The one place where standard-library dependencies are chosen. The user asked for @std/cli,
// @std/assert and @std/path from JSR; JSR is unreachable from the build machines, so Deno's
// built-in Node modules stand in. Switching back is a change to this file (and assert imports in
// tests, which use node:assert/strict directly).
export { parseArgs } from "node:util";
export { basename, dirname, isAbsolute, join, resolve } from "node:path";
