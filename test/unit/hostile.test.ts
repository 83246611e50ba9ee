/**
 * The hostile corpus (test/fixtures/hostile/manifest.json): each case goes through
 * buildArticle, with the real image step over a fake fetcher serving the hostile bytes,
 * and must end in bounded time as the manifest says: failed with its code, or published
 * with nothing executable in the body. Keys and sizes that only make sense through S3 are
 * in test/integration/hostile.test.ts.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SharpEncoder } from '../../functions/adapters/sharp-encoder';
import type { ImageConfig } from '../../functions/config';
import { buildArticle, type ImageStep } from '../../functions/core/article';
import { ArticleError, ImageError } from '../../functions/core/errors';
import { rehostImages } from '../../functions/core/images/rehost';
import type { ImageRecord, ImageRecordStore, ObjectStore, PutOptions } from '../../functions/ports';
import { ARTICLES, IMAGES } from '../fixtures/hostile/generate';
import { unsafeReasons } from '../support/safety-oracle';

interface Expect {
  status: 'published' | 'failed';
  code?: string;
  safe?: boolean;
  title?: string;
  warnings?: string[];
  images?: { status: 'rehosted' | 'failed'; code?: string }[];
}
interface Case {
  file?: string;
  generate?: string;
  key?: string;
  what: string;
  expect: Expect;
}

const root = new URL('../fixtures/hostile/', import.meta.url);
const manifest = JSON.parse(readFileSync(new URL('manifest.json', root), 'utf8')) as { cases: Case[] };

/** A case may take this long at most: the whole point of most of them is that they end. */
const BOUND_MS = 10_000;

const IMAGE: ImageConfig = {
  widths: [320, 640],
  formats: ['webp'],
  maxBytes: 5 * 1024 * 1024,
  maxPixels: 100_000_000,
  fetchTimeoutMs: 1000,
  allowPrivateHosts: [],
  onlyHosts: [],
};

class MemoryMedia implements ObjectStore {
  readonly puts: { key: string; body: Uint8Array; contentType: string }[] = [];
  async get() {
    return null;
  }
  async put(_bucket: string, key: string, body: Uint8Array | string, opts: PutOptions) {
    this.puts.push({ key, body: typeof body === 'string' ? new TextEncoder().encode(body) : body, contentType: opts.contentType });
  }
  async delete() {}
  async exists() {
    return false;
  }
}

class MemoryRecords implements ImageRecordStore {
  private readonly byHash = new Map<string, ImageRecord>();
  async getByUrl() {
    return null;
  }
  async getByHash(hash: string) {
    return this.byHash.get(hash) ?? null;
  }
  async put(record: ImageRecord) {
    this.byHash.set(record.hash, record);
  }
}

async function imageStep(): Promise<{ step: ImageStep; media: MemoryMedia }> {
  const served = new Map<string, Uint8Array>();
  for (const [name, make] of Object.entries(IMAGES)) served.set(`https://img.test/${name}`, await make());
  const media = new MemoryMedia();
  const deps = {
    fetcher: {
      fetch: async (url: string) => {
        const bytes = served.get(url);
        if (!bytes) throw new ImageError('image_not_found', 'HTTP 404');
        return { bytes, finalUrl: url, contentType: 'image/png' };
      },
    },
    encoder: new SharpEncoder(),
    media,
    incoming: media,
    records: new MemoryRecords(),
  };
  const step: ImageStep = (input) =>
    rehostImages(deps, { ...input, incomingBucket: 'in', mediaBucket: 'media', mediaBaseUrl: 'https://media.test', image: IMAGE });
  return { step, media };
}

function bytesOf(c: Case): Uint8Array {
  if (c.file) return readFileSync(new URL(c.file, root));
  const make = ARTICLES[c.generate ?? ''];
  if (!make) throw new Error(`no generator "${c.generate}"`);
  return make();
}

type Outcome = { ok: true; built: Awaited<ReturnType<typeof buildArticle>> } | { ok: false; error: unknown };

/**
 * Promise.race ends a case that waits forever; the clock catches one that hogs the CPU
 * (synchronous work cannot be interrupted, but it must not last).
 */
async function bounded(run: () => Promise<Awaited<ReturnType<typeof buildArticle>>>): Promise<Outcome & { ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not finish within ${BOUND_MS} ms`)), BOUND_MS);
  });
  try {
    const built = await Promise.race([run(), timeout]);
    return { ok: true, built, ms: performance.now() - started };
  } catch (error) {
    return { ok: false, error, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

describe('the hostile corpus', () => {
  it('has at least 40 cases, each with a file or a generator and an expectation', () => {
    expect(manifest.cases.length).toBeGreaterThanOrEqual(40);
    for (const c of manifest.cases) {
      expect(Boolean(c.file) !== Boolean(c.generate), c.what).toBe(true);
      expect(['published', 'failed']).toContain(c.expect.status);
      if (c.expect.status === 'failed') expect(c.expect.code, c.what).toBeTruthy();
      else expect(c.expect.safe, c.what).toBe(true);
    }
  });

  it.each(manifest.cases.map((c) => [c.file ?? c.key ?? c.generate!, c] as const))('%s', async (name, c) => {
    const key = c.key ?? c.file!;
    const { step, media } = await imageStep();
    const out = await bounded(() => buildArticle(bytesOf(c), { key, uploadedAt: '2024-01-01T00:00:00.000Z', defaultTimezone: 'UTC', id: 'hostile' }, step));
    expect(out.ms, `${name}: ${out.ms.toFixed(0)} ms`).toBeLessThan(BOUND_MS);

    if (c.expect.status === 'failed') {
      expect(out.ok, `${name} should fail`).toBe(false);
      const error = (out as { error: unknown }).error;
      // A crash would become processing_failed: only a typed, explained refusal counts.
      expect(error, String(error)).toBeInstanceOf(ArticleError);
      expect((error as ArticleError).code).toBe(c.expect.code);
      return;
    }

    if (!out.ok) throw out.error;
    const { record, html } = out.built;
    expect(record.status).toBe('published');
    expect(record.sourceKey).toBe(key);
    expect(unsafeReasons(html)).toEqual([]);
    if (c.expect.title !== undefined) expect(record.title).toBe(c.expect.title);
    const codes = record.warnings.map((w) => w.code);
    for (const w of c.expect.warnings ?? []) expect(codes).toContain(w);
    if (c.expect.images) {
      expect(record.images.map((i) => ({ status: i.status, ...(i.status === 'failed' ? { code: i.error?.code } : {}) }))).toEqual(
        c.expect.images.map((i) => ({ status: i.status, ...(i.code ? { code: i.code } : {}) })),
      );
      for (const i of record.images.filter((r) => r.status === 'failed')) expect(codes).toContain(i.error?.code);
    }
    // Whatever reached the media bucket is a re-encoded raster image: no markup, no script.
    for (const p of media.puts) {
      expect(p.contentType, p.key).toMatch(/^image\/(?:webp|avif|jpeg|png|gif)$/);
      const latin1 = Buffer.from(p.body).toString('latin1');
      expect(latin1, p.key).not.toMatch(/<script|alert\(|<svg|<html/i);
    }
  });

  it('left no trace on Object.prototype (the __proto__ cases ran above)', () => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted2).toBeUndefined();
  });
});

// ------------------------------------------------------------------ many slow images

describe('an article full of images from an origin that never answers', () => {
  it('ends: the image step keeps to a budget, and every image left over is a coded warning', async () => {
    // Each fetch runs to the fetch timeout, as the real fetcher does against a silent origin.
    const image: ImageConfig = { ...IMAGE, fetchTimeoutMs: 40 };
    const calls: string[] = [];
    const deps = {
      fetcher: {
        fetch: async (url: string, opts?: { signal?: AbortSignal }) => {
          calls.push(url);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, image.fetchTimeoutMs);
            opts?.signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
          });
          throw new ImageError('image_timeout', `no answer within ${image.fetchTimeoutMs} ms`);
        },
      },
      encoder: new SharpEncoder(),
      media: new MemoryMedia(),
      incoming: new MemoryMedia(),
      records: new MemoryRecords(),
    };
    const step: ImageStep = (input) =>
      rehostImages(deps, { ...input, incomingBucket: 'in', mediaBucket: 'media', mediaBaseUrl: 'https://media.test', image });
    const n = 400;
    const body = Array.from({ length: n }, (_, i) => `![${i}](https://silent.test/${i}.png)`).join('\n\n');
    const { record } = await buildArticle(new TextEncoder().encode(`---\ntitle: many\n---\n${body}\n`), { key: 'many.md', uploadedAt: '2024-01-01T00:00:00.000Z', defaultTimezone: 'UTC', id: 'm' }, step);

    expect(record.status).toBe('published');
    expect(record.images).toHaveLength(n);
    // Past MAX_IMAGE_SOURCES (200) distinct images, the rest are not even tried.
    expect(record.images.every((i) => i.status === 'failed' && ['image_timeout', 'image_too_many'].includes(i.error!.code))).toBe(true);
    // 400 fetches of 40 ms, 4 at a time, would take 4 s: the budget stopped well before.
    expect(calls.length).toBeLessThan(n / 2);
  });
});

// ------------------------------------------------------------------ properties

/** Pieces of every dialect and of markup, so random files hit the parsers' corners. */
const TOKENS = [
  '---\n', '+++\n', ';;;\n', '{', '}', '[', ']', '"', "'", ':', ': ', ',', '\n', '  ', '\t', '- ', '&a ', '*a ', '<<: ',
  '!!js/function ', '!!binary ', '!tag ', '|', '>', '#', 'title', 'date', 'tags', 'categories', 'draft', 'true', '2024-01-01',
  '= ', '__proto__', 'constructor', '<script>', '</script>', '<img src=x onerror=alert(1)>', '<a href="javascript:alert(1)">',
  '<svg onload=alert(1)>', '<math>', '<iframe srcdoc="x">', '<!--', '-->', '<![CDATA[', '](javascript:alert(1))', '![x](',
  '[r]: ', '`', '```', '**', '_', '\\', '&#106;', '&lt;', '\u0000', '\u202e', '中文', '😀', 'text ',
];
const hostileText = fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }).map((t) => t.join(''));

describe('any file at all (properties)', () => {
  const build = (bytes: Uint8Array, key: string) =>
    buildArticle(bytes, { key, uploadedAt: '2024-01-01T00:00:00.000Z', defaultTimezone: 'UTC', id: 'p' });

  it('ends as a typed refusal or a safe article, never a crash (token soup)', async () => {
    await fc.assert(
      fc.asyncProperty(hostileText, fc.constantFrom('a.md', 'a.html'), async (text, key) => {
        try {
          const { html, record } = await build(new TextEncoder().encode(text), key);
          expect(unsafeReasons(html)).toEqual([]);
          expect(record.sourceKey).toBe(key);
        } catch (err) {
          expect(err, String(err)).toBeInstanceOf(ArticleError);
        }
      }),
      { numRuns: 600 },
    );
  });

  it('ends as a typed refusal or a safe article, never a crash (arbitrary bytes)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        try {
          expect(unsafeReasons((await build(bytes, 'b.md')).html)).toEqual([]);
        } catch (err) {
          expect(err, String(err)).toBeInstanceOf(ArticleError);
        }
      }),
      { numRuns: 400 },
    );
  });
});
