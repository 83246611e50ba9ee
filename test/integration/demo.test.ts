/**
 * `npm run demo` against the test stack: every example of examples/ is uploaded, its images
 * served by the demo's own origin (on a port the test stack allows), processed, and read
 * back through the API; a second run finds them unchanged.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as cheerio from 'cheerio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../local/stack';
import { DemoError, EXAMPLES_DIR, PLACEHOLDER_HOST, formatReport, loadExamples, runDemo, type DemoResult } from '../../scripts/demo-lib';
import { adminApi, api, findBySourceKey, stack, uniq } from './helpers';

const MEDIA_IMG = `${stack.s3Endpoint}/${stack.mediaBucket}/img/`;

/** What each example is meant to become: status and number of body images. */
const EXPECTED: Record<string, { status: 'published' | 'draft'; images: number }> = {
  'draft-autumn-plans.md': { status: 'draft', images: 1 },
  'hexo-west-lake.md': { status: 'published', images: 2 },
  'html-lazy-gallery.html': { status: 'published', images: 4 },
  'hexo-lotus-pond.md': { status: 'published', images: 1 },
  'hugo-harbour-at-dusk.md': { status: 'published', images: 1 },
  'hugo-lighthouse/index.md': { status: 'published', images: 1 },
  'jekyll-garden-notes.md': { status: 'published', images: 3 },
};

const base = {
  s3Endpoint: stack.s3Endpoint,
  apiUrl: stack.apiUrl,
  incomingBucket: stack.incomingBucket,
  timeoutMs: 90_000,
};

describe('loadExamples', () => {
  it('rewrites the placeholder image host to the origin port actually used', () => {
    const examples = loadExamples(EXAMPLES_DIR, 12345);
    expect(examples.map((e) => e.file).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const e of examples) {
      expect(e.text).not.toContain(PLACEHOLDER_HOST);
      if (readFileSync(join(EXAMPLES_DIR, e.file), 'utf8').includes(PLACEHOLDER_HOST)) expect(e.text).toContain('http://127.0.0.1:12345/');
    }
  });
});

describe('npm run demo', () => {
  const prefix = `${uniq('demo')}/`;
  const lines: string[] = [];
  let first: DemoResult;
  const articles = new Map<string, any>();

  beforeAll(async () => {
    first = await runDemo({ ...base, originPort: stack.demoOriginPort, prefix, log: (l) => lines.push(l) });
    for (const row of first.rows) articles.set(row.file, (await adminApi(`/admin/articles/${row.id}`)).body);
  });

  it('processes every example as new, with no failure', () => {
    expect(first.rows.map((r) => r.file).sort()).toEqual(Object.keys(EXPECTED).sort());
    for (const r of first.rows) {
      expect(r, r.file).toMatchObject({ outcome: 'new', status: EXPECTED[r.file]!.status, imagesFailed: 0, ok: true });
      expect(r.sourceKey).toBe(prefix + r.file);
    }
    expect(first.ok).toBe(true);
    expect(first.originRequests).toBeGreaterThan(0);
    expect(lines.some((l) => l.startsWith('uploaded asset'))).toBe(true);
  });

  it('indexes each article under its expected status, and only there', async () => {
    for (const [file, want] of Object.entries(EXPECTED)) {
      const other = want.status === 'draft' ? 'published' : 'draft';
      expect((await findBySourceKey(prefix + file, want.status))?.status, file).toBe(want.status);
      expect(await findBySourceKey(prefix + file, other), file).toBeUndefined();
    }
  });

  it('re-hosts every image under the media base, nothing left on the origin', () => {
    for (const [file, want] of Object.entries(EXPECTED)) {
      const a = articles.get(file);
      expect(a.images, file).toHaveLength(want.images);
      for (const ref of a.images) {
        expect(ref.status, `${file} ${ref.original}`).toBe('rehosted');
        expect(ref.url.startsWith(MEDIA_IMG)).toBe(true);
      }
      const $ = cheerio.load(a.html);
      const srcs = $('img').toArray().map((el) => $(el).attr('src') ?? '');
      expect(srcs, file).toHaveLength(want.images);
      for (const src of srcs) expect(src.startsWith(MEDIA_IMG), `${file}: ${src}`).toBe(true);
      expect(a.html).not.toContain(`127.0.0.1:${stack.demoOriginPort}`);
      const lazyAttrs = $('[data-src], [data-original], [data-lazy-src], [data-srcset]');
      expect(lazyAttrs.length, file).toBe(0);
      expect(a.cover?.url.startsWith(MEDIA_IMG), file).toBe(true);
      expect(a.cover?.social?.og, file).toMatchObject({ width: 1200, height: 630, url: expect.stringContaining(MEDIA_IMG) });
      expect(a.cover?.social?.square, file).toMatchObject({ width: 1080, height: 1080, url: expect.stringContaining(MEDIA_IMG) });
      expect(a.warnings, file).toEqual([]);
    }
  });

  it('keeps what each dialect says: Chinese Hexo cover, Hugo picture, relative asset, lazy HTML, GIF', () => {
    const hexo = articles.get('hexo-west-lake.md');
    expect(hexo.title).toBe('西湖晨雾：一次清晨的散步');
    expect(hexo.categories).toEqual(['旅行', '杭州']);
    expect(hexo.cover.original).toBe(`http://127.0.0.1:${stack.demoOriginPort}/photos/west-lake-dawn.jpg`);
    expect(hexo.html).toContain('清晨五点半');

    const hugo = articles.get('hugo-harbour-at-dusk.md');
    expect(hugo.slug).toBe('harbour-at-dusk');
    expect(hugo.updated).toBe('2024-05-04T06:00:00.000Z');
    expect(hugo.html).toMatch(/<picture><source type="image\/webp"/);

    const jekyll = articles.get('jekyll-garden-notes.md');
    expect(jekyll.images.map((i: any) => i.original)).toContain('images/seed-tray.png');

    // Generator tags: Hexo's asset_img (post asset folder) and Hugo's figure (page bundle).
    const lotus = articles.get('hexo-lotus-pond.md');
    expect(lotus.images.map((i: any) => i.original)).toEqual(['hexo-lotus-pond/lotus.jpg']);
    expect(lotus.html).toMatch(/<figure><picture><source type="image\/webp"[^]*<\/picture><figcaption>曲院风荷的荷花池<\/figcaption><\/figure>/);
    expect(lotus.html).toContain('<code class="language-yaml"># 相机与镜头');
    expect(lotus.title).toBe('荷花池边的午后');
    const lighthouse = articles.get('hugo-lighthouse/index.md');
    expect(lighthouse.slug).toBe('lighthouse-low-tide');
    expect(lighthouse.images.map((i: any) => i.original)).toEqual(['lighthouse.jpg']);
    expect(lighthouse.html).toMatch(/<figure><picture>[^]*alt="A white lighthouse above wet sand"[^]*<figcaption>Low tide at <em>Lindesnes<\/em> Photo: Maren Olsen<\/figcaption><\/figure>/);
    expect(lighthouse.html).toContain('<code class="language-toml"># Hugo renders');
    for (const a of [lotus, lighthouse]) expect(a.html).not.toMatch(/\{\{|\{%/);

    const lazy = articles.get('html-lazy-gallery.html');
    expect(lazy.html).not.toContain('<script');
    expect(lazy.images.some((i: any) => i.url.endsWith('.gif'))).toBe(true);
  });

  it('puts the Chinese Hexo article into the feeds of its category: characters, re-hosted cover and body images', async () => {
    const hexo = articles.get('hexo-west-lake.md');
    const q = `?category=${encodeURIComponent('旅行')}`;
    const json = (await api(`/feed.json${q}`)).body;
    const entry = json.items.find((i: any) => i.id === `urn:article-pipeline:article:${hexo.id}`);
    expect(entry).toMatchObject({ title: hexo.title, image: hexo.cover.url, content_html: hexo.html, tags: expect.arrayContaining(['旅行', '杭州']) });
    expect(entry.content_html).toContain(MEDIA_IMG);
    const rss = await (await fetch(`${stack.apiUrl}/feed.xml${q}`)).text();
    expect(rss).toContain(hexo.title);
    expect(rss).toContain(`<enclosure length="0" type="image/jpeg" url="${hexo.cover.url}"/>`);
  });

  it('serves the re-hosted copies from the media bucket after the origin has stopped', async () => {
    const url = articles.get('hexo-west-lake.md').images[0].url;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^image\//);
    await expect(fetch(`http://127.0.0.1:${stack.demoOriginPort}/photos/west-lake-dawn.jpg`)).rejects.toThrow();
  });

  it('prints a report naming every article, its status and the URLs to open', () => {
    const report = formatReport(first);
    for (const r of first.rows) {
      expect(report).toContain(r.title);
      expect(report).toContain(r.apiUrl);
    }
    expect(report).toContain(`${stack.apiUrl}/admin/articles?status=draft`);
    expect(first.sample?.after).toContain(MEDIA_IMG);
  });

  it('reports everything unchanged on a second run, without reprocessing', async () => {
    const again = await runDemo({ ...base, originPort: stack.demoOriginPort, prefix });
    expect(again.ok).toBe(true);
    expect(again.rows.map((r) => r.outcome)).toEqual(first.rows.map(() => 'unchanged'));
    for (const r of again.rows) {
      expect((await adminApi(`/admin/articles/${r.id}`)).body.processedAt).toBe(articles.get(r.file).processedAt);
    }
  });
});

describe('npm run demo, when things go wrong', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'demo-examples-'));
    copyFileSync(join(EXAMPLES_DIR, 'draft-autumn-plans.md'), join(dir, 'draft-autumn-plans.md'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('fails clearly when the origin port is taken', async () => {
    const blocker = createServer();
    const port = await new Promise<number>((ok) => blocker.listen(0, '127.0.0.1', () => ok((blocker.address() as { port: number }).port)));
    try {
      const err = await runDemo({ ...base, originPort: port, examplesDir: dir, prefix: `${uniq('busy')}/` }).catch((e) => e);
      expect(err).toBeInstanceOf(DemoError);
      expect(err.code).toBe('origin_port_in_use');
      expect(err.message).toContain('DEMO_ORIGIN_PORT');
    } finally {
      await new Promise((ok) => blocker.close(ok));
    }
  });

  it('fails clearly when the stack does not answer', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const err = await runDemo({ ...base, apiUrl: dead, originPort: stack.demoOriginPort, examplesDir: dir }).catch((e) => e);
    expect(err).toBeInstanceOf(DemoError);
    expect(err.code).toBe('stack_unreachable');
    expect(err.message).toContain('npm run dev');
  });

  it('reports images the stack refused, retries them on the next run, and recovers with the allowed port', async () => {
    const prefix = `${uniq('refused')}/`;
    const notAllowed = await freePort();
    const refused = await runDemo({ ...base, originPort: notAllowed, examplesDir: dir, prefix });
    expect(refused.ok).toBe(false);
    expect(refused.rows[0]).toMatchObject({ status: 'draft', imagesFailed: 1, ok: false });
    expect(refused.rows[0]!.warnings).toContain('image_blocked_address');

    const again = await runDemo({ ...base, originPort: notAllowed, examplesDir: dir, prefix });
    expect(again.rows[0]).toMatchObject({ outcome: 'retried', ok: false });

    const fixed = await runDemo({ ...base, originPort: stack.demoOriginPort, examplesDir: dir, prefix });
    expect(fixed.rows[0]).toMatchObject({ outcome: 'updated', imagesRehosted: 1, imagesFailed: 0, ok: true });
    expect(fixed.ok).toBe(true);
  });
});
