// Test helper: runs the elfuse command line in a subprocess and collects what it printed.

import { V8_FLAGS_ARG } from "./v8_flags.ts";

const cli = new URL("../cli.ts", import.meta.url).pathname;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `deno run -A cli.ts ...args` (with elfuse's V8 flags) with stdin at /dev/null. */
export function runCli(...args: string[]): Promise<CliResult> {
  return runCliWith({}, ...args);
}

/** runCli with extra environment variables for elfuse itself. */
export async function runCliWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<CliResult> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", V8_FLAGS_ARG, cli, ...args],
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}
