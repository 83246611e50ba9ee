/**
 * The media sweeper's plan (pure) and its setting. The sweep itself, with its conditional
 * writes, runs against DynamoDB Local and s3rver in test/integration/media-gc.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../functions/config';
import { groupImageFiles, imageHashOf, planSweep } from '../../functions/core/media-gc';
import type { GcImageState, MediaReferences } from '../../functions/ports';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 1);
const GRACE = 7 * DAY;
const TK = 'v1-test';
const h = (c: string) => c.repeat(32);
const rec = (hash: string, unreferencedSince: number | null = null, condemnedAt: number | null = null): GcImageState => ({
  hash,
  transformKey: TK,
  unreferencedSince,
  condemnedAt,
});
const refs = (records: GcImageState[], images: string[] = [], bodies: string[] = []): Pick<MediaReferences, 'images' | 'bodies' | 'records'> => ({
  records,
  images: new Set(images),
  bodies: new Set(bodies),
});
const plan = (r: ReturnType<typeof refs>, files = new Map<string, number>(), bodies: { key: string; lastModified: Date }[] = [], graceMs = GRACE) =>
  planSweep(r, files, bodies, { scanStart: NOW, graceMs, transformKey: TK });

describe('planSweep', () => {
  it('leaves images in use alone, and clears a mark or condemnation of one in use again', () => {
    const p = plan(refs([rec(h('a')), rec(h('b'), NOW - 30 * DAY), rec(h('c'), null, NOW - DAY)], [h('a'), h('b'), h('c')]));
    expect(p.unmark.map((r) => r.hash)).toEqual([h('b'), h('c')]);
    expect(p.mark).toEqual([]);
    expect(p.condemn).toEqual([]);
  });

  it('marks an unused image, and condemns it only once unused for the whole grace period', () => {
    const p = plan(refs([rec(h('a')), rec(h('b'), NOW - GRACE + 1), rec(h('c'), NOW - GRACE)]));
    expect(p.mark.map((r) => r.hash)).toEqual([h('a')]);
    expect(p.condemn).toEqual([{ hash: h('c'), transformKey: TK, expected: { unreferencedSince: NOW - GRACE, condemnedAt: null } }]);
    expect(p.waiting.images).toBe(2);
  });

  it('with no grace period, marks and condemns in one sweep, conditioned on its own mark', () => {
    const p = plan(refs([rec(h('a'))]), new Map(), [], 0);
    expect(p.mark.map((r) => r.hash)).toEqual([h('a')]);
    expect(p.condemn).toEqual([{ hash: h('a'), transformKey: TK, expected: { unreferencedSince: NOW, condemnedAt: null } }]);
  });

  it('finishes a condemnation a sweep left half-way', () => {
    const p = plan(refs([rec(h('a'), NOW - 9 * DAY, NOW - DAY)]));
    expect(p.condemn).toEqual([{ hash: h('a'), transformKey: TK, expected: { unreferencedSince: NOW - 9 * DAY, condemnedAt: NOW - DAY } }]);
  });

  it('claims old files without a record, but never files an article uses', () => {
    const files = new Map([
      [h('a'), NOW - 8 * DAY],
      [h('b'), NOW - DAY],
      [h('c'), NOW - 8 * DAY],
      [h('d'), NOW - 8 * DAY],
    ]);
    const p = plan(refs([rec(h('d'))], [h('c'), h('d')]), files);
    expect(p.condemn).toEqual([{ hash: h('a'), transformKey: TK, expected: null }]);
    expect(p.waiting.images).toBe(1);
  });

  it('picks bodies no article points to once older than the grace period', () => {
    const old = new Date(NOW - 8 * DAY);
    const p = plan(refs([], [], ['bodies/x/1-v1.html']), new Map(), [
      { key: 'bodies/x/1-v1.html', lastModified: old },
      { key: 'bodies/x/0-v1.html', lastModified: old },
      { key: 'bodies/y/2-v1.html', lastModified: new Date(NOW - DAY) },
    ]);
    expect(p.bodies).toEqual(['bodies/x/0-v1.html']);
    expect(p.waiting.bodies).toBe(1);
  });
});

describe('image files', () => {
  it('are grouped by hash, newest write first', () => {
    expect(imageHashOf(`img/${h('a')}/320.webp`)).toBe(h('a'));
    expect(imageHashOf('bodies/x.html')).toBeNull();
    const grouped = groupImageFiles([
      { key: `img/${h('a')}/320.webp`, lastModified: new Date(5) },
      { key: `img/${h('a')}/320.jpg`, lastModified: new Date(9) },
      { key: `img/${h('b')}/320.jpg`, lastModified: new Date(1) },
    ]);
    expect([...grouped]).toEqual([
      [h('a'), 9],
      [h('b'), 1],
    ]);
  });
});

describe('MEDIA_GC_GRACE_SECONDS', () => {
  const base = { MEDIA_BASE_URL: 'https://media.example.com' };
  it('defaults to 7 days and accepts 0', () => {
    expect(loadConfig(base).mediaGcGraceSeconds).toBe(7 * 86_400);
    expect(loadConfig({ ...base, MEDIA_GC_GRACE_SECONDS: '0' }).mediaGcGraceSeconds).toBe(0);
  });
  it.each(['-1', '1.5', '7d', String(3651 * 86_400)])('rejects %s', (v) => {
    expect(() => loadConfig({ ...base, MEDIA_GC_GRACE_SECONDS: v })).toThrow(/MEDIA_GC_GRACE_SECONDS/);
  });
});
