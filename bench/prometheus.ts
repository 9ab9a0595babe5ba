// Reading a service's /metrics: the Prometheus text format, counters summed over series, and
// quantiles of a prom-client histogram the way PromQL's histogram_quantile estimates them.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface HistogramSummary {
  count: number;
  /** Exact: the histogram's sum over its count. */
  meanSeconds: number;
  /** Estimated by linear interpolation inside the bucket that holds the quantile. */
  p50Seconds: number;
  p95Seconds: number;
}

export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match?.[1] || match[3] === undefined) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      if (key !== undefined && value !== undefined) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

const matches = (labels: Record<string, string>, want: Record<string, string>) =>
  Object.entries(want).every(([key, value]) => labels[key] === value);

/** The sum of every series of `name` whose labels include `want`. */
export function total(samples: readonly Sample[], name: string, want: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && matches(s.labels, want))
    .reduce((sum, s) => sum + s.value, 0);
}

function quantile(buckets: readonly [number, number][], q: number): number {
  const count = buckets.at(-1)?.[1] ?? 0;
  if (count === 0) return NaN;
  const rank = q * count;
  let lower = 0;
  let below = 0;
  for (const [bound, cumulative] of buckets) {
    if (cumulative >= rank) {
      if (bound === Infinity) return lower;
      return lower + ((bound - lower) * (rank - below)) / Math.max(1, cumulative - below);
    }
    lower = bound;
    below = cumulative;
  }
  return lower;
}

/** One summary of the histogram `name` over every series whose labels include `want`. */
export function histogram(
  samples: readonly Sample[],
  name: string,
  want: Record<string, string> = {},
): HistogramSummary {
  const cumulative = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket` || !matches(s.labels, want)) continue;
    const bound = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    cumulative.set(bound, (cumulative.get(bound) ?? 0) + s.value);
  }
  const buckets = [...cumulative.entries()].sort((a, b) => a[0] - b[0]);
  const count = total(samples, `${name}_count`, want);
  return {
    count,
    meanSeconds: count === 0 ? NaN : total(samples, `${name}_sum`, want) / count,
    p50Seconds: quantile(buckets, 0.5),
    p95Seconds: quantile(buckets, 0.95),
  };
}

/** A summary per value of `label`, e.g. per command. */
export function histogramsBy(
  samples: readonly Sample[],
  name: string,
  label: string,
): Record<string, HistogramSummary> {
  const values = new Set(samples.filter((s) => s.name === `${name}_count`).map((s) => s.labels[label] ?? ''));
  return Object.fromEntries(
    [...values].map((value) => [value, histogram(samples, name, { [label]: value })]),
  );
}
