/**
 * Progress on stderr while the matrix runs. On a terminal: one line redrawn in place
 * (`[done/total] case elapsed`). Elsewhere (CI logs, a pipe): a line when the run starts, a line
 * for each case that fails as soon as it does, and a status line at a fixed interval naming the
 * cases still running, so a log never goes quiet for minutes and a hung case shows by name.
 *
 * @module
 */

import type { Progress } from "./run.ts";

/** How {@linkcode ProgressPrinter} writes and tells the time (tests pass their own). */
export interface ProgressSink {
  /** Writes text to stderr as it is. */
  write(text: string): void;
  /** True when stderr is a terminal. */
  terminal: boolean;
  /** Terminal width in columns (terminal only). */
  columns?: () => number;
}

/** Seconds between status lines when stderr is not a terminal. */
export const LOG_INTERVAL_SECONDS = 15;

/** Draws or logs the matrix's progress; call `update` from runMatrix's onProgress. */
export class ProgressPrinter {
  #last: Progress | undefined;
  #failed = 0;
  #lastLogMs = 0;

  constructor(readonly sink: ProgressSink, readonly intervalSeconds = LOG_INTERVAL_SECONDS) {}

  /** The first line, before any case runs (not on a terminal, where the redrawn line says it). */
  start(total: number, jobs: number, what: string): void {
    if (this.sink.terminal) return;
    this.sink.write(`matrix: ${total} case(s), ${jobs} at a time: ${what}\n`);
  }

  /** A case started or ended. */
  update(p: Progress): void {
    this.#last = p;
    const v = p.finished?.verdict;
    if (v === "fail" || v === "fixed") this.#failed++;
    if (this.sink.terminal) return this.#draw();
    if (p.finished && (v === "fail" || v === "fixed")) {
      this.sink.write(
        `matrix: [${p.done}/${p.total}] ${v === "fail" ? "FAIL" : "FIXED"} ${p.finished.case}: ` +
          `${p.finished.reason.split("\n")[0]}\n`,
      );
    }
  }

  /** Called every half second or so: redraws the terminal line or logs a due status line. */
  tick(elapsedMs: number): void {
    if (this.sink.terminal) return this.#draw(elapsedMs);
    if (elapsedMs - this.#lastLogMs < this.intervalSeconds * 1000 || !this.#last) return;
    this.#lastLogMs = elapsedMs;
    const p = this.#last;
    const running = p.running.length ? `; running ${p.running.join(", ")}` : "";
    this.sink.write(
      `matrix: [${p.done}/${p.total}] ${(elapsedMs / 1000).toFixed(0)}s, ` +
        `${this.#failed} failed so far${running}\n`,
    );
  }

  /** Clears the terminal line before the report is printed. */
  finish(): void {
    if (this.sink.terminal) this.sink.write("\r\x1b[2K");
  }

  #draw(elapsedMs = this.#last?.elapsedMs ?? 0): void {
    const p = this.#last;
    if (!p) return;
    const failed = this.#failed ? ` ${this.#failed} failed` : "";
    const line = `[${p.done}/${p.total}]${failed} ${p.current} ${(elapsedMs / 1000).toFixed(0)}s`;
    const cols = this.sink.columns?.() || 80;
    this.sink.write(`\r\x1b[2K${line.slice(0, cols - 1)}`);
  }
}
