// Helpers for the generated, committed guest code (shim/build.ts, vdso/build.ts): running the
// aarch64 cross binutils, and the SHA-256 and base64 text the generated modules embed.

/** Runs a tool and returns its stdout; throws a one-line error when it is missing or fails. */
export async function tool(name: string, args: string[]): Promise<string> {
  let r: Deno.CommandOutput;
  try {
    r = await new Deno.Command(name, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new Error(`${name} is not installed`);
    throw e;
  }
  if (r.code !== 0) throw new Error(`${name} failed:\n${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

/** True when the aarch64 cross binutils (Debian: binutils-aarch64-linux-gnu) are on PATH. */
export async function haveCrossBinutils(): Promise<boolean> {
  try {
    await tool("aarch64-linux-gnu-as", ["--version"]);
    return true;
  } catch {
    return false;
  }
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `bytes` as hex string literals of 96 digits, one per line, for a generated module. */
export function hexLines(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const lines = [];
  for (let i = 0; i < hex.length; i += 96) lines.push(`  "${hex.slice(i, i + 96)}",`);
  return lines.join("\n");
}

/** `bytes` as base64 string literals of 96 characters, one per line, for a generated module. */
export function base64Lines(bytes: Uint8Array): string {
  const b64 = btoa(String.fromCharCode(...bytes));
  const lines = [];
  for (let i = 0; i < b64.length; i += 96) lines.push(`  "${b64.slice(i, i + 96)}",`);
  return lines.join("\n");
}
