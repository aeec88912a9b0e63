// Whether a benchmark's ratio is a finding or noise. Each side is timed N times; the ratio of the
// medians is what the table shows, but the runs' extremes bound what the ratio could really be.
// When those bounds are more than a factor SPREAD_LIMIT apart (or a per-iteration cost could be
// zero), the ratio is marked unreliable instead of being reported. A --quick run once showed
// clock_gettime at 39.9x that a full run put at 0.27x: its per-iteration cost is the small
// difference of two start-up-dominated times, which three runs cannot pin down.

/** The median, fastest and slowest of one command's runs, in milliseconds. */
export interface Sample {
  median: number;
  min: number;
  max: number;
}

/** Ratios whose possible values differ by more than this factor are not findings. */
export const SPREAD_LIMIT = 2;

/** The smallest and largest elfuse/qemu ratio the runs allow. */
export function ratioRange(elfuse: Sample, qemu: Sample): [number, number] {
  return [elfuse.min / qemu.max, elfuse.max / qemu.min];
}

/**
 * The smallest and largest per-iteration cost (µs) the runs allow: the program run with `ops`
 * iterations (`full`) less the same program run with one (`one`, its start-up), divided.
 */
export function perIterationRange(full: Sample, one: Sample, ops: number): [number, number] {
  return [((full.min - one.max) * 1000) / (ops - 1), ((full.max - one.min) * 1000) / (ops - 1)];
}

/** The ratio range of two per-iteration ranges (elfuse's over qemu's). */
export function perIterationRatioRange(
  elfuse: [number, number],
  qemu: [number, number],
): [number, number] {
  return [elfuse[0] / qemu[1], elfuse[1] / qemu[0]];
}

const x = (r: number) => `${r < 10 ? r.toFixed(2) : r.toFixed(1)}x`;

/** Null when the ratio range is narrow enough to report, else why it is not. */
export function unreliability(
  range: [number, number],
  perIteration: { elfuse: [number, number]; qemu: [number, number] } | null = null,
): string | null {
  if (perIteration && (perIteration.elfuse[0] <= 0 || perIteration.qemu[0] <= 0)) {
    return "the runs' spread exceeds the per-iteration difference (it could be zero)";
  }
  const [lo, hi] = range;
  if (!(lo > 0) || !Number.isFinite(hi) || hi / lo > SPREAD_LIMIT) {
    return `the runs allow anything from ${x(Math.max(lo, 0))} to ${
      Number.isFinite(hi) ? x(hi) : "∞"
    }`;
  }
  return null;
}
