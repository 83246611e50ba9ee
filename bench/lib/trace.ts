/**
 * Where an end-to-end run spends its time: wraps adapter methods (on their prototypes,
 * so the handlers' instances are covered) and records each call's interval. Calls
 * overlap, so each category reports both the summed time and the wall time it covered.
 */
interface Span {
  cat: string;
  t0: number;
  t1: number;
}

const spans: Span[] = [];

export function record(cat: string, t0: number, t1: number): void {
  spans.push({ cat, t0, t1 });
  if (spans.length > 100_000) spans.splice(0, 50_000);
}

export function wrap(proto: object, method: string, cat: string): void {
  const p = proto as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const original = p[method];
  if (typeof original !== 'function') throw new Error(`cannot trace ${cat}: no method ${method}`);
  p[method] = async function (this: unknown, ...args: unknown[]) {
    const t0 = performance.now();
    try {
      return await original.apply(this, args);
    } finally {
      record(cat, t0, performance.now());
    }
  };
}

/** Per category between `from` and `to`: calls, summed ms, and ms of wall time covered. */
export function summarize(from: number, to: number): Record<string, { calls: number; sumMs: number; wallMs: number }> {
  const byCat = new Map<string, Span[]>();
  for (const s of spans) {
    if (s.t0 < from || s.t1 > to) continue;
    const list = byCat.get(s.cat) ?? [];
    list.push(s);
    byCat.set(s.cat, list);
  }
  const out: Record<string, { calls: number; sumMs: number; wallMs: number }> = {};
  for (const [cat, list] of byCat) {
    list.sort((a, b) => a.t0 - b.t0);
    let wall = 0;
    let end = -Infinity;
    let start = -Infinity;
    for (const s of list) {
      if (s.t0 > end) {
        if (end > start) wall += end - start;
        start = s.t0;
        end = s.t1;
      } else end = Math.max(end, s.t1);
    }
    if (end > start) wall += end - start;
    out[cat] = { calls: list.length, sumMs: Math.round(list.reduce((n, s) => n + s.t1 - s.t0, 0)), wallMs: Math.round(wall) };
  }
  return out;
}
