/** A problem the user caused or can fix: printed as one line `elfuse: message`, never a stack. */
export class ElfuseError extends Error {
  /** Shell-like exit status: 127 missing program, 126 not runnable, 2 usage, 1 otherwise. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "ElfuseError";
    this.exitCode = exitCode;
  }
}

/**
 * `s` with its control characters (C0, DEL, C1) written as escapes, so that a message quoting
 * guest data (a program name, a PT_INTERP path, a guest path) stays one line and cannot move a
 * terminal's cursor: a newline becomes `\n`, ESC `\x1b`.
 */
export function printable(s: string): string {
  // deno-lint-ignore no-control-regex
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const named = controlNames[c];
    return named ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

const controlNames: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
