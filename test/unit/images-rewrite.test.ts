import { load } from 'cheerio/slim';
import { describe, expect, it } from 'vitest';
import { discoverImages } from '../../functions/core/images/discover';
import { displaySize, rewriteImages, toImage, type RefOutcome } from '../../functions/core/images/rewrite';
import type { ImageRecord } from '../../functions/ports';

const BASE = 'https://media.example.com/m';
const CTX = { articleKey: 'posts/a.md', incomingBucket: 'in' };

/** A record as rehost.ts writes it: fallback and webp at each width, for a source w×h. */
function record(hash: string, w: number, h: number, opts: { widths?: number[]; fallback?: string } = {}): ImageRecord {
  const widths = opts.widths ?? [320, w];
  const fb = opts.fallback ?? 'jpeg';
  const ext = fb === 'jpeg' ? 'jpg' : fb;
  const variants = (e: string) =>
    widths.map((vw) => ({ key: `img/${hash}/${vw}.${e}`, width: vw, height: Math.round((vw * h) / w), size: 100 }));
  return {
    hash,
    transformKey: 't1',
    sourceBytes: 1000,
    width: w,
    height: h,
    animated: false,
    fallback: { type: `image/${fb}`, variants: variants(ext) },
    sources: [{ type: 'image/webp', variants: variants('webp') }],
    placeholder: 'data:image/webp;base64,AAAA',
    color: '#112233',
    createdAt: '2024-01-01T00:00:00.000Z',
  };
}

const ok = (rec: ImageRecord, sourceKey: string, raw = sourceKey): RefOutcome => ({ ok: true, record: rec, sourceKey, raw });
const failed = (raw: string, code = 'image_not_found'): RefOutcome => ({
  ok: false,
  raw,
  error: { code, message: 'HTTP 404' },
});

describe('displaySize', () => {
  it('keeps the declared width and scales the height from the real aspect ratio', () => {
    expect(displaySize({ width: '530' }, { width: 1060, height: 652 })).toEqual({ width: 530, height: 326 });
    expect(displaySize({ width: '970px', height: '374px' }, { width: 1940, height: 800 })).toEqual({ width: 970, height: 400 });
    expect(displaySize({ height: '100' }, { width: 400, height: 200 })).toEqual({ width: 200, height: 100 });
    expect(displaySize({ width: '100%' }, { width: 640, height: 480 })).toEqual({ width: 640, height: 480 });
    expect(displaySize({}, { width: 640, height: 480 })).toEqual({ width: 640, height: 480 });
  });
});

describe('rewriteImages', () => {
  it('turns a re-hosted image into a picture with responsive sources', () => {
    const disc = discoverImages(
      '<p>图片说明 &amp; more</p><img src="https://x/a.jpg" width="530" alt="图一" title="t" class="bigimg" referrerpolicy="no-referrer" data-src="https://x/a.jpg" loading="eager">',
      {},
      CTX,
    );
    const rec = record('a'.repeat(32), 1060, 652, { widths: [320, 640, 960, 1060] });
    const out = rewriteImages(disc, [ok(rec, 'https://x/a.jpg')], null, BASE);
    const $ = load(out.html);

    expect($('picture')).toHaveLength(1);
    const source = $('picture > source');
    expect(source.attr('type')).toBe('image/webp');
    expect(source.attr('srcset')).toBe(
      [320, 640, 960, 1060].map((w) => `${BASE}/img/${'a'.repeat(32)}/${w}.webp ${w}w`).join(', '),
    );
    const img = $('picture > img');
    expect(img.attr('src')).toBe(`${BASE}/img/${'a'.repeat(32)}/1060.jpg`);
    expect(img.attr('srcset')).toContain(`${BASE}/img/${'a'.repeat(32)}/320.jpg 320w`);
    expect(img.attr('sizes')).toBe('(max-width: 530px) 100vw, 530px');
    expect(source.attr('sizes')).toBe(img.attr('sizes'));
    expect([img.attr('width'), img.attr('height')]).toEqual(['530', '326']);
    expect(img.attr('alt')).toBe('图一');
    expect(img.attr('title')).toBe('t');
    expect(img.attr('loading')).toBe('lazy');
    expect(img.attr('decoding')).toBe('async');
    for (const gone of ['referrerpolicy', 'data-src']) expect(img.attr(gone)).toBeUndefined();
    // text stays characters
    expect(out.html).toContain('<p>图片说明 &amp; more</p>');

    expect(out.images).toEqual([
      { original: 'https://x/a.jpg', status: 'rehosted', url: `${BASE}/img/${'a'.repeat(32)}/1060.jpg`, width: 1060, height: 652 },
    ]);
    expect(out.imageCount).toBe(1);
    expect(out.warnings).toEqual([]);
    // no front-matter image: the first body image is the cover
    expect(out.cover).toMatchObject({ url: img.attr('src'), width: 1060, height: 652, original: 'https://x/a.jpg' });
    expect(out.cover?.placeholder).toBe('data:image/webp;base64,AAAA');
  });

  it('uses the largest variant size when no size is declared, and replaces a whole picture', () => {
    const disc = discoverImages(
      '<picture><source type="image/avif" srcset="https://x/b.avif"><img src="https://x/b.jpg" alt=""></picture>',
      {},
      CTX,
    );
    const out = rewriteImages(disc, [ok(record('b'.repeat(32), 800, 400), 'https://x/b.jpg')], null, BASE);
    const $ = load(out.html);
    expect($('picture')).toHaveLength(1);
    expect($('source')).toHaveLength(1);
    expect($('source').attr('type')).toBe('image/webp');
    expect(out.html).not.toContain('b.avif');
    expect([$('img').attr('width'), $('img').attr('height')]).toEqual(['800', '400']);
    expect($('img').attr('alt')).toBe('');
  });

  it('points a link to the full-size original at the re-hosted copy', () => {
    const disc = discoverImages('<a href="https://x/full.jpg" target="_blank"><img src="https://x/small.jpg"></a>', {}, CTX);
    const rec = record('c'.repeat(32), 2000, 1000, { widths: [320, 1920] });
    const out = rewriteImages(disc, [ok(rec, 'https://x/full.jpg')], null, BASE);
    const $ = load(out.html);
    expect($('a').attr('href')).toBe(`${BASE}/img/${'c'.repeat(32)}/1920.jpg`);
    expect($('a').attr('target')).toBe('_blank');
    expect($('a > picture > img')).toHaveLength(1);

    // re-hosted from the small image instead: the link is left alone
    const disc2 = discoverImages('<a href="https://x/full.jpg"><img src="https://x/small.jpg"></a>', {}, CTX);
    const out2 = rewriteImages(disc2, [ok(rec, 'https://x/small.jpg')], null, BASE);
    expect(load(out2.html)('a').attr('href')).toBe('https://x/full.jpg');
  });

  it('keeps a failed image on its original address, lazy attributes resolved, with a warning', () => {
    const disc = discoverImages(
      '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="https://x/gone.jpg" data-srcset="https://x/gone.jpg 1x, https://x/gone2.jpg 2x" referrerpolicy="no-referrer" alt="a">',
      {},
      CTX,
    );
    const out = rewriteImages(disc, [failed('https://x/gone2.jpg')], null, BASE);
    const $ = load(out.html);
    const img = $('img');
    expect($('picture')).toHaveLength(0);
    expect(img.attr('src')).toBe('https://x/gone.jpg');
    expect(img.attr('srcset')).toBe('https://x/gone.jpg 1x, https://x/gone2.jpg 2x');
    expect(img.attr('data-src')).toBeUndefined();
    expect(img.attr('data-srcset')).toBeUndefined();
    expect(img.attr('referrerpolicy')).toBe('no-referrer');
    expect(out.images).toEqual([
      { original: 'https://x/gone.jpg', status: 'failed', error: { code: 'image_not_found', message: 'HTTP 404' } },
    ]);
    expect(out.warnings).toEqual([
      { code: 'image_not_found', message: expect.stringContaining('HTTP 404'), url: 'https://x/gone2.jpg' },
    ]);
    expect(out.cover).toBeNull();
    expect(out.imageCount).toBe(1);
  });

  it('takes the cover from front matter, else the first re-hosted body image, and reports each failure once', () => {
    const html = '<img src="https://x/1.jpg"><img src="https://x/2.jpg"><img src="https://x/1.jpg">';
    const r2 = record('2'.repeat(32), 640, 480);
    const fm = record('f'.repeat(32), 1200, 600);

    const withCover = rewriteImages(
      discoverImages(html, { cover: 'https://x/c.jpg' }, CTX),
      [failed('https://x/1.jpg'), ok(r2, 'https://x/2.jpg'), failed('https://x/1.jpg')],
      ok(fm, 'https://x/c.jpg'),
      BASE,
    );
    expect(withCover.cover).toEqual(toImage(fm, 'https://x/c.jpg', BASE));
    expect(withCover.images.map((i) => i.status)).toEqual(['failed', 'rehosted', 'failed']);
    expect(withCover.imageCount).toBe(3);
    expect(withCover.warnings).toHaveLength(1);

    const coverFailed = rewriteImages(
      discoverImages(html, { cover: 'https://x/c.jpg' }, CTX),
      [failed('https://x/1.jpg'), ok(r2, 'https://x/2.jpg'), failed('https://x/1.jpg')],
      failed('https://x/c.jpg', 'image_timeout'),
      BASE,
    );
    expect(coverFailed.cover?.url).toBe(`${BASE}/img/${'2'.repeat(32)}/640.jpg`);
    expect(coverFailed.cover?.original).toBe('https://x/2.jpg');
    expect(coverFailed.warnings.map((w) => [w.code, w.url])).toEqual([
      ['image_not_found', 'https://x/1.jpg'],
      ['image_timeout', 'https://x/c.jpg'],
    ]);
  });

  it('builds the Image an API client sees', () => {
    const rec = record('d'.repeat(32), 1000, 500, { widths: [320, 640, 1000], fallback: 'png' });
    expect(toImage(rec, 'images/a.png', `${BASE}/`)).toEqual({
      url: `${BASE}/img/${'d'.repeat(32)}/1000.png`,
      width: 1000,
      height: 500,
      srcset: [320, 640, 1000].map((w) => `${BASE}/img/${'d'.repeat(32)}/${w}.png ${w}w`).join(', '),
      sources: [
        { type: 'image/webp', srcset: [320, 640, 1000].map((w) => `${BASE}/img/${'d'.repeat(32)}/${w}.webp ${w}w`).join(', ') },
      ],
      placeholder: 'data:image/webp;base64,AAAA',
      color: '#112233',
      original: 'images/a.png',
    });
    // a long data: URI is reported shortened
    const long = `data:image/png;base64,${'A'.repeat(500)}`;
    expect(toImage(rec, long, BASE).original.length).toBeLessThan(120);
  });
});
