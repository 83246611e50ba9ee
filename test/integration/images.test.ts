/**
 * Image re-hosting end to end: the sample article, its 4 images served by a loopback origin,
 * uploaded to the embedded stack and read back through the API.
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as cheerio from 'cheerio';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { adminApi, findBySourceKey, settle, stack, upload, uniq } from './helpers';
import { sampleText } from '../support/sample';

const SAMPLE = sampleText();
const MEDIA_BASE = `${stack.s3Endpoint}/${stack.mediaBucket}`;

async function photo(width: number, height: number, format: 'jpeg' | 'png'): Promise<Buffer> {
  // Noise plus a gradient, so encoders have real work; EXIF with GPS that must not survive.
  const noise = Buffer.alloc(width * height * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 7919 + (i % width) * 3) & 0xff;
  const img = sharp(noise, { raw: { width, height, channels: 3 } }).withExif({
    IFD0: { Copyright: 'origin', Artist: 'someone' },
    IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '50/1 27/1 0/1' },
  });
  return format === 'jpeg' ? img.jpeg({ quality: 90 }).toBuffer() : img.png().toBuffer();
}

async function requests(): Promise<Record<string, number>> {
  return (await fetch(`${stack.originUrl}/__requests`)).json() as Promise<Record<string, number>>;
}

describe('image re-hosting', () => {
  const ns = uniq('img');
  const key = `${ns}/sample.md`;
  let article: any;
  let sizeIn = 0;

  beforeAll(async () => {
    const files: [string, number, number, 'jpeg' | 'png'][] = [
      [`${ns}/news/2022/03/02/20220302090322298.jpg`, 970, 374, 'jpeg'],
      [`${ns}/news/mainland/2022/03/02/20220302105158839.png`, 1200, 800, 'png'],
      [`${ns}/news/mainland/2022/03/02/20220302094939850.jpg`, 530, 326, 'jpeg'],
      [`${ns}/news/mainland/2022/03/02/20220302111453614.png`, 800, 600, 'png'],
    ];
    for (const [path, w, h, f] of files) {
      const file = join(stack.originDir, path);
      mkdirSync(dirname(file), { recursive: true });
      const bytes = await photo(w, h, f);
      sizeIn += bytes.length;
      writeFileSync(file, bytes);
    }
    await upload(key, SAMPLE.replaceAll('https://i.guancha.cn/', `${stack.originUrl}/${ns}/`));
    await settle();
    const summary = await findBySourceKey(key);
    article = (await adminApi(`/admin/articles/${summary.id}`)).body;
  });

  it('re-hosts every body image under MEDIA_BASE_URL with srcset, sizes and real dimensions', () => {
    expect(article.warnings).toEqual([]);
    const $ = cheerio.load(article.html);
    const imgs = $('img').toArray();
    expect(imgs).toHaveLength(4);
    for (const el of imgs) {
      const img = $(el);
      expect(img.attr('src')!.startsWith(`${MEDIA_BASE}/img/`)).toBe(true);
      expect(img.attr('srcset')).toMatch(/ \d+w/);
      expect(img.attr('sizes')).toBeTruthy();
      expect(Number(img.attr('width'))).toBeGreaterThan(0);
      expect(Number(img.attr('height'))).toBeGreaterThan(0);
      expect(img.attr('loading')).toBe('lazy');
      expect(img.attr('decoding')).toBe('async');
      expect(img.parent().is('picture')).toBe(true);
      expect(img.parent().find('source[type="image/webp"]').attr('srcset')).toContain(MEDIA_BASE);
    }
    expect(article.imageCount).toBe(4);
    expect(article.images.every((i: any) => i.status === 'rehosted')).toBe(true);
    // The article said width="530" for a 1200x800 source: display size kept, ratio real.
    const second = $(imgs[1]!);
    expect([second.attr('width'), second.attr('height')]).toEqual(['530', '353']);
  });

  it('takes the cover from headimg, and fetches the shared image once', async () => {
    expect(article.cover.original).toContain('20220302090322298.jpg');
    expect(article.cover.url.startsWith(`${MEDIA_BASE}/img/`)).toBe(true);
    expect(article.cover.width).toBe(970);
    expect(article.cover.height).toBe(374);
    expect(article.cover.placeholder).toMatch(/^data:image\//);
    const seen = await requests();
    expect(seen[`/${ns}/news/2022/03/02/20220302090322298.jpg`]).toBe(1);
  });

  it('gives the cover both social cards, served as JPEG at their sizes', async () => {
    const { og, square } = article.cover.social;
    for (const [card, w, h] of [[og, 1200, 630], [square, 1080, 1080]] as const) {
      expect([card.width, card.height]).toEqual([w, h]);
      expect(card.url.startsWith(`${MEDIA_BASE}/img/`)).toBe(true);
      const res = await fetch(card.url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/jpeg');
      expect(await sharp(Buffer.from(await res.arrayBuffer())).metadata()).toMatchObject({ width: w, height: h, format: 'jpeg' });
    }
    // Summaries carry them too (list routes, feeds).
    expect((await findBySourceKey(article.sourceKey)).cover.social).toEqual(article.cover.social);
  });

  it('serves media URLs that load, with long immutable caching and no EXIF', async () => {
    const urls = new Set<string>();
    const $ = cheerio.load(article.html);
    $('img').each((_, el) => {
      urls.add($(el).attr('src')!);
      for (const c of $(el).attr('srcset')!.split(',')) urls.add(c.trim().split(' ')[0]!);
    });
    $('source').each((_, el) => {
      for (const c of $(el).attr('srcset')!.split(',')) urls.add(c.trim().split(' ')[0]!);
    });
    let sizeOut = 0;
    for (const url of urls) {
      const res = await fetch(url);
      expect(res.status, url).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const bytes = Buffer.from(await res.arrayBuffer());
      const meta = await sharp(bytes).metadata();
      expect(meta.exif, url).toBeUndefined();
      expect(res.headers.get('content-type')).toBe(`image/${meta.format === 'jpeg' ? 'jpeg' : meta.format}`);
      if (url === $('img').first().attr('src')) sizeOut += bytes.length;
    }
    expect(urls.size).toBeGreaterThan(8);
    expect(sizeOut).toBeGreaterThan(0);
  });

  it('re-uploading the article fetches and encodes nothing again', async () => {
    const before = await requests();
    await upload(key, SAMPLE.replaceAll('https://i.guancha.cn/', `${stack.originUrl}/${ns}/`) + '\n<p>edited</p>\n');
    await settle();
    const after = await requests();
    expect(after).toEqual(before);
    const summary = await findBySourceKey(key);
    expect((await adminApi(`/admin/articles/${summary.id}`)).body.html).toContain('edited');
  });

  it('a blocked or broken image leaves a warning, never a failed article', async () => {
    const k = `${uniq('img-bad')}/post.md`;
    await upload(
      k,
      [
        '---',
        'title: Broken pictures',
        '---',
        `![missing](${stack.originUrl}/nope.png)`,
        '',
        '![elsewhere](https://example.com/a.png)',
        '',
        '![private](http://127.0.0.2/a.png)',
      ].join('\n'),
    );
    await settle();
    const s = await findBySourceKey(k);
    expect(s.status).toBe('published');
    const codes = s.warnings.map((w: any) => w.code).sort();
    expect(codes).toEqual(['image_blocked_address', 'image_blocked_address', 'image_not_found']);
    const full = (await adminApi(`/admin/articles/${s.id}`)).body;
    expect(full.html).toContain(`${stack.originUrl}/nope.png`);
    expect(full.images.map((i: any) => i.status)).toEqual(['failed', 'failed', 'failed']);
  });

  it('re-uploading an article whose images failed tries them again', async () => {
    const k = `${uniq('img-retry')}/post.md`;
    const path = `${uniq('late')}/photo.jpg`;
    const body = `---\ntitle: Late picture\n---\n![late](${stack.originUrl}/${path})\n`;
    await upload(k, body);
    await settle();
    const first = await findBySourceKey(k);
    expect(first.warnings.map((w: any) => w.code)).toEqual(['image_not_found']);

    // The picture shows up at the origin; the author uploads the very same file again.
    const file = join(stack.originDir, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, await photo(400, 300, 'jpeg'));
    await upload(k, body);
    await settle();
    const again = await findBySourceKey(k);
    expect(again.warnings).toEqual([]);
    expect(again.imageCount).toBe(1);
    expect((await adminApi(`/admin/articles/${again.id}`)).body.images[0].status).toBe('rehosted');
  });
});
