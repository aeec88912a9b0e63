// Helpers for the generated, committed guest code (shim/build.ts, vdso/build.ts): running the
// aarch64 cross binutils, and the SHA-256 and bytes the generated modules embed.

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

/**
 * The end of a generated module: `bytes` as `export const name`, with `doc` as its doc comment.
 * Hex, not base64: the first atob() of a run loads Deno's base64 code (1.5 ms), and the vDSO is
 * mapped on every run.
 */
export function embeddedBytes(name: string, doc: string, bytes: Uint8Array): string {
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  const lines = [];
  for (let i = 0; i < hex.length; i += 96) lines.push(`  "${hex.slice(i, i + 96)}",`);
  return `const hex = [
${lines.join("\n")}
].join("");

/** ${doc} */
export const ${name} = new Uint8Array(hex.length / 2);
for (let i = 0; i < ${name}.length; i++) ${name}[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
`;
}
