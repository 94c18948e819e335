// Where a wave's time goes, from Prometheus text scraped before and after it:
// per controller, reconciles, mean time per reconcile and mean wait in the
// queue (the operator's /metrics); per API verb and resource, requests and
// mean latency, and per admission webhook, calls and mean latency (the API
// server's /metrics). Pure: parse and diff.

/** `name{labels} value` lines, keyed by name and sorted labels. */
export type PromSample = Map<string, number>;

export function parseProm(text: string): PromSample {
  const out: PromSample = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const v = Number(m[3]);
    if (Number.isFinite(v)) out.set(`${m[1]}${m[2] ?? ''}`, v);
  }
  return out;
}

function labelsOf(key: string): Record<string, string> {
  const inner = /\{(.*)\}$/.exec(key)?.[1] ?? '';
  const out: Record<string, string> = {};
  for (const m of inner.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) out[m[1]!] = m[2]!;
  return out;
}

/** Sums `metric` (a counter, or a histogram's _sum/_count) over the given labels, after minus before. */
function deltaBy(before: PromSample, after: PromSample, metric: string, by: string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const [key, v] of after) {
    if (!key.startsWith(`${metric}{`) && key !== metric) continue;
    const l = labelsOf(key);
    const group = by.map((b) => l[b] ?? '').join(' ');
    out.set(group, (out.get(group) ?? 0) + v - (before.get(key) ?? 0));
  }
  return out;
}

/** count and mean seconds of a histogram per group (but those `skip` matches), largest total first, at most `top`. */
export function histogramDelta(before: PromSample, after: PromSample, histogram: string, by: string[], top = 20, skip?: RegExp): Record<string, { count: number; meanMs: number; totalS: number }> {
  const sums = deltaBy(before, after, `${histogram}_sum`, by);
  const counts = deltaBy(before, after, `${histogram}_count`, by);
  return Object.fromEntries(
    [...counts.entries()]
      .filter(([g, n]) => n > 0 && !skip?.test(g))
      .map(([g, n]) => [g, { count: n, meanMs: +((1000 * (sums.get(g) ?? 0)) / n).toFixed(1), totalS: +(sums.get(g) ?? 0).toFixed(1) }] as const)
      .sort((a, b) => b[1].totalS - a[1].totalS)
      .slice(0, top),
  );
}
