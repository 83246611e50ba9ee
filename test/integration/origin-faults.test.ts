/**
 * Image origins that misbehave, through the whole pipeline: upload -> queue -> ingest ->
 * fetch (the test stack's IMAGE_FETCH_TIMEOUT_MS is 3000) -> API. Whatever the origin does,
 * the article is published, each image either re-hosted or left with a coded warning, and
 * the event ends: it is never retried for an origin's sake, never stuck.
 * (The fetcher's own handling of each behaviour is in test/unit/http-fetcher.test.ts.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as cheerio from 'cheerio';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminApi, findBySourceKey, settle, stack, upload, uniq } from './helpers';

const MEDIA_BASE = `${stack.s3Endpoint}/${stack.mediaBucket}`;

async function requests(): Promise<Record<string, number>> {
  return (await fetch(`${stack.originUrl}/__requests`)).json() as Promise<Record<string, number>>;
}

/** Each behaviour of test/integration/origin.ts, and what the article must say about it. */
const CASES: { behaviour: string; rehosted: boolean; codes: string[] }[] = [
  { behaviour: 'drip', rehosted: false, codes: ['image_timeout'] },
  { behaviour: 'reset', rehosted: false, codes: ['image_fetch_failed'] },
  { behaviour: 'lying', rehosted: false, codes: ['image_fetch_failed'] },
  { behaviour: 'loop', rehosted: false, codes: ['image_fetch_failed'] },
  { behaviour: 'flaky', rehosted: true, codes: [] },
  { behaviour: 'hang', rehosted: false, codes: ['image_timeout'] },
];

describe('misbehaving image origins, end to end', () => {
  const ns = uniq('origin-faults');
  const key = `${ns}/post.md`;
  const urls = new Map<string, string>();
  let article: any;

  beforeAll(async () => {
    const png = await sharp({ create: { width: 640, height: 400, channels: 3, background: '#2a7' } }).png().toBuffer();
    const lines: string[] = [];
    for (const c of CASES) {
      const file = join(stack.originDir, ns, `${c.behaviour}.png`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, png);
      const url = `${stack.originUrl}/__faulty/${c.behaviour}/${ns}/${c.behaviour}.png`;
      urls.set(c.behaviour, url);
      lines.push(`![${c.behaviour}](${url})`);
    }
    await upload(key, `---\ntitle: Faulty origins\ntags: [faults]\n---\n\nText before.\n\n${lines.join('\n\n')}\n\nText after.\n`);
    await settle();
    const summary = await findBySourceKey(key);
    expect(summary, 'the article is published').toBeDefined();
    article = (await adminApi(`/admin/articles/${summary.id}`)).body;
  }, 60_000);

  it('publishes the article with one image entry per reference', () => {
    expect(article.status).toBe('published');
    expect(article.error).toBeNull();
    expect(article.images).toHaveLength(CASES.length);
    expect(article.html).toContain('Text before.');
    expect(article.html).toContain('Text after.');
  });

  it.each(CASES)('$behaviour: re-hosted or a coded warning, never stuck', ({ behaviour, rehosted, codes }) => {
    const url = urls.get(behaviour)!;
    const ref = article.images.find((i: any) => i.original === url);
    expect(ref, behaviour).toBeDefined();
    const warnings = article.warnings.filter((w: any) => w.url === url);
    if (rehosted) {
      expect(ref.status).toBe('rehosted');
      expect(ref.url.startsWith(`${MEDIA_BASE}/`)).toBe(true);
      expect(warnings).toEqual([]);
    } else {
      expect(ref.status).toBe('failed');
      expect(codes).toContain(ref.error.code);
      expect(warnings.map((w: any) => w.code)).toEqual([ref.error.code]);
      // The body keeps the original address for a browser to try.
      const $ = cheerio.load(article.html);
      expect($(`img[src="${url}"]`).length).toBe(1);
    }
  });

  it('retried the flaky origin once, and gave the redirect loop up after a few hops', async () => {
    const seen = await requests();
    const path = (b: string) => new URL(urls.get(b)!).pathname;
    expect(seen[path('flaky')]).toBe(2);
    expect(seen[path('loop')]).toBeGreaterThan(1);
    expect(seen[path('loop')]).toBeLessThanOrEqual(5);
  });

  it('a re-upload reuses what worked and tries the failures again, still ending', async () => {
    const before = await requests();
    await upload(key, `---\ntitle: Faulty origins, again\n---\n\n${[...urls.values()].map((u, i) => `![${i}](${u})`).join('\n\n')}\n`);
    await settle();
    const summary = await findBySourceKey(key);
    expect(summary.title).toBe('Faulty origins, again');
    const again = (await adminApi(`/admin/articles/${summary.id}`)).body;
    expect(again.images.filter((i: any) => i.status === 'rehosted')).toHaveLength(1);
    const after = await requests();
    const path = (b: string) => new URL(urls.get(b)!).pathname;
    // The re-hosted URL is known: not fetched again. The hanging one is tried again.
    expect(after[path('flaky')]).toBe(before[path('flaky')]);
    expect(after[path('hang')]).toBeGreaterThan(before[path('hang')] ?? 0);
  }, 60_000);
});
