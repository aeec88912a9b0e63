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
