import { createHash } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { load } from 'cheerio/slim';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoImageRecords } from '../../functions/adapters/dynamo-image-records';
import { SharpEncoder } from '../../functions/adapters/sharp-encoder';
import type { ImageConfig } from '../../functions/config';
import { ImageError } from '../../functions/core/errors';
import { IMAGE_CACHE_CONTROL, rehostImages, type RehostInput } from '../../functions/core/images/rehost';
import {
  ObjectTooLargeError,
  type EncodeSettings,
  type FetchedImage,
  type ImageEncoder,
  type ImageFetcher,
  type ImageRecord,
  type ImageRecordStore,
  type ObjectStore,
  type PutOptions,
  type StoredObject,
} from '../../functions/ports';

const MEDIA_BASE = 'http://127.0.0.1:4569/articles-media';
const IMAGE: ImageConfig = {
  widths: [320, 640],
  formats: ['webp'],
  maxBytes: 5 * 1024 * 1024,
  maxPixels: 50_000_000,
  fetchTimeoutMs: 1000,
  allowPrivateHosts: [],
  onlyHosts: [],
};

// ------------------------------------------------------------------ fakes

class MemoryStore implements ObjectStore {
  readonly objects = new Map<string, { body: Uint8Array; opts: PutOptions }>();
  failPuts = false;
  reads: string[] = [];

  async get(bucket: string, key: string, opts: { maxBytes?: number } = {}): Promise<StoredObject | null> {
    this.reads.push(`${bucket}/${key}`);
    const o = this.objects.get(`${bucket}/${key}`);
    if (!o) return null;
    if (opts.maxBytes !== undefined && o.body.byteLength > opts.maxBytes) {
      throw new ObjectTooLargeError(o.body.byteLength, opts.maxBytes);
    }
    return { body: o.body, etag: 'e', contentType: o.opts.contentType };
  }
  async put(bucket: string, key: string, body: Uint8Array | string, opts: PutOptions): Promise<void> {
    if (this.failPuts) throw new Error('S3 is down');
    this.objects.set(`${bucket}/${key}`, { body: typeof body === 'string' ? Buffer.from(body) : body, opts });
  }
  async delete(bucket: string, key: string): Promise<void> {
    this.objects.delete(`${bucket}/${key}`);
  }
  async exists(bucket: string, key: string): Promise<boolean> {
    return this.objects.has(`${bucket}/${key}`);
  }
}

class MemoryRecords implements ImageRecordStore {
  readonly byHash = new Map<string, ImageRecord>();
  readonly byUrl = new Map<string, string>();
  async getByUrl(url: string, tk: string) {
    const hash = this.byUrl.get(`${url}\n${tk}`);
    return hash ? this.getByHash(hash, tk) : null;
  }
  async getByHash(hash: string, tk: string) {
    return this.byHash.get(`${hash}\n${tk}`) ?? null;
  }
  async put(record: ImageRecord, opts: { url?: string } = {}) {
    this.byHash.set(`${record.hash}\n${record.transformKey}`, record);
    if (opts.url) this.byUrl.set(`${opts.url}\n${record.transformKey}`, record.hash);
  }
}

type Route = Uint8Array | Error;

class FakeFetcher implements ImageFetcher {
  readonly calls: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly routes: Record<string, Route>,
    private readonly delayMs = 0,
  ) {}
  async fetch(url: string): Promise<FetchedImage> {
    this.calls.push(url);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
      const route = this.routes[url];
      if (route === undefined) throw new ImageError('image_not_found', 'HTTP 404');
      if (route instanceof Error) throw route;
      return { bytes: route, finalUrl: url, contentType: null };
    } finally {
      this.inFlight--;
    }
  }
}

class CountingEncoder implements ImageEncoder {
  encodes = 0;
  private readonly inner = new SharpEncoder();
  transformKey(s: Pick<EncodeSettings, 'widths' | 'formats'>) {
    return this.inner.transformKey(s);
  }
  encode(bytes: Uint8Array, s: EncodeSettings) {
    this.encodes++;
    return this.inner.encode(bytes, s);
  }
  socialCuts = 0;
  socialKey() {
    return this.inner.socialKey();
  }
  socialCards(bytes: Uint8Array) {
    this.socialCuts++;
    return this.inner.socialCards(bytes);
  }
}

function setup(routes: Record<string, Route> = {}, delayMs = 0) {
  return {
    fetcher: new FakeFetcher(routes, delayMs),
    encoder: new CountingEncoder(),
    media: new MemoryStore(),
    records: new MemoryRecords(),
    incoming: new MemoryStore(),
  };
}

const input = (html: string, over: Partial<RehostInput> = {}): RehostInput => ({
  html,
  frontMatter: {},
  articleKey: '2022/03/post.md',
  incomingBucket: 'articles-incoming',
  mediaBucket: 'articles-media',
  mediaBaseUrl: MEDIA_BASE,
  image: IMAGE,
  ...over,
});

// ------------------------------------------------------------------ fixtures

const jpeg = (w: number, h: number, colour: string) =>
  sharp({ create: { width: w, height: h, channels: 3, background: colour } }).jpeg().toBuffer();
const png = (w: number, h: number, alpha: number) =>
  sharp({ create: { width: w, height: h, channels: 4, background: { r: 10, g: 200, b: 30, alpha } } }).png().toBuffer();

const U1 = 'https://i.guancha.cn/news/2022/03/02/20220302090322298.jpg';
const U2 = 'https://i.guancha.cn/news/mainland/2022/03/02/20220302105158839.png';
const U3 = 'https://i.guancha.cn/news/mainland/2022/03/02/20220302094939850.jpg';
const U4 = 'https://i.guancha.cn/news/mainland/2022/03/02/20220302111453614.png';

/** The image markup of the sample upload (fixtures/000_c0ba3bdfef9b4790.txt). */
const SAMPLE_HTML = `<div>
<img src="${U1}" width="970px" height="374px" referrerpolicy="no-referrer">
<p>（观察者网讯）据乌克兰“TV24”消息</p>
<p style="text-align:center;">
<img src="${U2}" title="点击查看大图" width="530" class="bigimg" referrerpolicy="no-referrer">
</p>
<p align="center">
<img src="${U3}" width="530" height="326" alt referrerpolicy="no-referrer">
</p>
<p style="text-align:center;">
<img src="${U4}" title="点击查看大图" width="530" class="bigimg" referrerpolicy="no-referrer">
</p>
</div>`;
const SAMPLE_FM = { title: '俄方：无普京与泽连斯基会谈计划', headimg: U1, thumbnail: U1 };

let images: Record<string, Buffer>;
beforeAll(async () => {
  images = {
    u1: await jpeg(970, 374, '#884422'),
    u2: await png(530, 400, 1),
    u3: await jpeg(530, 326, '#224488'),
    u4: await png(600, 300, 0.5),
    big: await jpeg(1000, 500, '#aa0000'),
    small: await jpeg(200, 100, '#00aa00'),
  };
});

const MEDIA_KEY = /^articles-media\/img\/[0-9a-f]{32}\/\d+\.(webp|jpg|png|gif)$/;
const SOCIAL_KEY = /^articles-media\/img\/[0-9a-f]{32}\/social\/s\d+-[0-9a-f]{8}-(og|square)\.jpg$/;

// ------------------------------------------------------------------ tests

describe('rehostImages', () => {
  it('re-hosts the sample article, fetching the repeated URL once', async () => {
    const deps = setup({ [U1]: images.u1!, [U2]: images.u2!, [U3]: images.u3!, [U4]: images.u4! });
    const out = await rehostImages(deps, input(SAMPLE_HTML, { frontMatter: SAMPLE_FM }));

    expect([...deps.fetcher.calls].sort()).toEqual([U1, U2, U3, U4].sort());
    expect(deps.encoder.encodes).toBe(4);
    expect(out.imageCount).toBe(4);
    expect(out.images.map((i) => [i.original, i.status])).toEqual([U1, U2, U3, U4].map((u) => [u, 'rehosted']));
    expect(out.warnings).toEqual([]);
    expect(out.stats).toMatchObject({ fetched: 4, reused: 0, failed: 0 });
    expect(out.stats.bytesIn).toBe([images.u1!, images.u2!, images.u3!, images.u4!].reduce((n, b) => n + b.length, 0));
    expect(out.stats.bytesOut).toBe([...deps.media.objects.values()].reduce((n, o) => n + o.body.byteLength, 0));

    // the cover is the front-matter image, the same bytes as the first body image
    expect(out.cover?.original).toBe(U1);
    expect(out.cover?.url).toBe(out.images[0]!.url);
    expect(out.cover?.url).toMatch(new RegExp(`^${MEDIA_BASE}/img/[0-9a-f]{32}/640\\.jpg$`));
    expect(out.cover?.sources.map((s) => s.type)).toEqual(['image/webp']);
    expect(out.cover?.placeholder).toMatch(/^data:image\/webp;base64,/);
    expect(out.cover?.color).toMatch(/^#[0-9a-f]{6}$/);
    // and its social cards, beside its variants under the same content hash
    const coverDir = out.cover!.url.slice(0, out.cover!.url.lastIndexOf('/'));
    expect(out.cover?.social).toEqual({
      og: { url: expect.stringMatching(new RegExp(`^${coverDir}/social/s1-[0-9a-f]{8}-og\\.jpg$`)), width: 1200, height: 630 },
      square: { url: expect.stringMatching(new RegExp(`^${coverDir}/social/s1-[0-9a-f]{8}-square\\.jpg$`)), width: 1080, height: 1080 },
    });
    expect(deps.encoder.socialCuts).toBe(1);
    const card = deps.media.objects.get(`articles-media/${out.cover!.social!.og.url.slice(MEDIA_BASE.length + 1)}`)!;
    expect(card.opts).toEqual({ contentType: 'image/jpeg', cacheControl: IMAGE_CACHE_CONTROL });
    expect(await sharp(card.body).metadata()).toMatchObject({ width: 1200, height: 630, format: 'jpeg' });
    expect(out.images.every((i) => !('social' in i))).toBe(true);

    // every object content-addressed, typed and immutable
    expect(deps.media.objects.size).toBeGreaterThan(0);
    const socialKeys = [...deps.media.objects.keys()].filter((k) => SOCIAL_KEY.test(k));
    expect(socialKeys).toHaveLength(2);
    for (const [key, o] of deps.media.objects) {
      if (socialKeys.includes(key)) continue;
      expect(key).toMatch(MEDIA_KEY);
      const ext = key.split('.').pop();
      expect(o.opts.contentType).toBe({ webp: 'image/webp', jpg: 'image/jpeg', png: 'image/png' }[ext!]);
      expect(o.opts.cacheControl).toBe(IMAGE_CACHE_CONTROL);
      expect((await sharp(o.body).metadata()).width).toBe(Number(key.split('/').pop()!.split('.')[0]));
    }
    // the half-transparent PNG keeps a PNG fallback, the opaque one does not
    expect(out.images[1]!.url).toMatch(/\.jpg$/);
    expect(out.images[3]!.url).toMatch(/\.png$/);

    const $ = load(out.html);
    expect(out.html).not.toContain('i.guancha.cn');
    expect($('picture')).toHaveLength(4);
    const first = $('img').first();
    expect([first.attr('width'), first.attr('height')]).toEqual(['970', '374']);
    expect(out.html).toContain('（观察者网讯）据乌克兰“TV24”消息');

    // another article using the same URLs fetches and encodes nothing
    const again = { ...setup(), records: deps.records, media: deps.media };
    const out2 = await rehostImages(again, input(`<p><img src="${U2}"><img src="${U1}"></p>`, { articleKey: 'other.md' }));
    expect(again.fetcher.calls).toEqual([]);
    expect(again.encoder.encodes).toBe(0);
    expect(out2.stats).toMatchObject({ fetched: 0, reused: 2 });
    expect(out2.images.map((i) => i.url)).toEqual([out.images[1]!.url, out.images[0]!.url]);
    // its cover (the first body image, re-hosted before) gets cards too, cut once and remembered
    expect(out2.cover?.social?.og.url).toMatch(/-og\.jpg$/);
    const out3 = await rehostImages(again, input(`<p><img src="${U2}"></p>`, { articleKey: 'third.md' }));
    expect(again.encoder.socialCuts).toBe(1);
    expect(out3.cover?.social).toEqual(out2.cover?.social);
  });

  it('publishes the cover without cards, with a warning, when its re-hosted copy cannot be read back', async () => {
    const deps = setup({ [U1]: images.u1! });
    const media = deps.media;
    const original = media.get.bind(media);
    media.get = async (bucket, key, opts) => (key.startsWith('img/') ? null : original(bucket, key, opts));
    const out = await rehostImages(deps, input(`<img src="${U1}">`));
    expect(out.cover?.url).toBe(out.images[0]!.url);
    expect(out.cover?.social).toBeUndefined();
    expect(out.warnings.map((w) => w.code)).toEqual(['image_social_cards_failed']);
  });

  it('encodes the same bytes once, whatever URLs serve them', async () => {
    const deps = setup({ 'https://a.example/x.jpg': images.u3!, 'https://b.example/copy.jpg': images.u3! });
    const out = await rehostImages(deps, input('<img src="https://a.example/x.jpg"><img src="https://b.example/copy.jpg">'));
    expect(deps.fetcher.calls).toHaveLength(2);
    expect(deps.encoder.encodes).toBe(1);
    expect(out.stats).toMatchObject({ fetched: 2, reused: 1 });
    expect(out.images[0]!.url).toBe(out.images[1]!.url);
    // both URLs are now known: a later article fetches neither
    expect(await deps.records.getByUrl('https://b.example/copy.jpg', deps.encoder.transformKey(IMAGE))).not.toBeNull();
  });

  it('reads relative paths from the upload bucket and never leaves it', async () => {
    const deps = setup();
    await deps.incoming.put('articles-incoming', '2022/03/img/a.png', await png(400, 200, 0.3), { contentType: 'image/png' });
    await deps.incoming.put('articles-incoming', 'shared/b.jpg', images.small!, { contentType: 'image/jpeg' });
    const out = await rehostImages(
      deps,
      input('<img src="img/a.png"><img src="/shared/b.jpg"><img src="img/none.png"><img src="../../../etc/passwd">'),
    );
    expect(deps.fetcher.calls).toEqual([]);
    expect(deps.incoming.reads).toEqual(
      expect.arrayContaining(['articles-incoming/2022/03/img/a.png', 'articles-incoming/shared/b.jpg']),
    );
    expect(out.images.map((i) => i.status)).toEqual(['rehosted', 'rehosted', 'failed', 'failed']);
    expect(out.images[0]!.url).toMatch(/\/400\.png$/);
    expect(out.images[1]!.url).toMatch(/\/200\.jpg$/);
    expect(out.warnings.map((w) => [w.code, w.url])).toEqual([
      ['image_not_found', 'img/none.png'],
      ['image_unsupported_url', '../../../etc/passwd'],
    ]);
    const srcs = load(out.html)('img').toArray().map((e) => e.attribs['src']);
    expect(srcs.slice(2)).toEqual(['img/none.png', '../../../etc/passwd']);
    expect(out.stats).toMatchObject({ fetched: 3, failed: 2 });
  });

  it('re-hosts data: URIs without fetching', async () => {
    const deps = setup();
    const uri = `data:image/png;base64,${(await png(100, 50, 1)).toString('base64')}`;
    const out = await rehostImages(deps, input(`<img src="${uri}" alt="inline">`));
    expect(deps.fetcher.calls).toEqual([]);
    expect(out.images[0]!.status).toBe('rehosted');
    expect(out.images[0]!.original.length).toBeLessThan(120);
    expect(out.html).not.toContain('data:');
    expect(load(out.html)('img').attr('alt')).toBe('inline');
  });

  it('keeps each bad image on its original URL with a warning, and re-hosts the rest', async () => {
    const full = images.big!;
    const deps = setup({
      'https://x/ok.jpg': images.small!,
      'https://x/boom.jpg': new Error('socket hang up'),
      'https://x/truncated.jpg': full.subarray(0, Math.floor(full.length / 2)),
      'https://x/page.jpg': Buffer.from('<!doctype html><title>login</title>'),
      'https://x/slow.jpg': new ImageError('image_timeout', 'no answer within 1000 ms'),
    });
    const out = await rehostImages(
      deps,
      input(
        ['gone', 'ok', 'boom', 'truncated', 'page', 'slow'].map((n) => `<img src="https://x/${n}.jpg">`).join('') +
          '<img data-src="https://x/gone.jpg" src="/spinner.gif">',
      ),
    );
    expect(out.images.map((i) => i.error?.code ?? i.status)).toEqual([
      'image_not_found',
      'rehosted',
      'image_fetch_failed',
      'image_corrupt',
      'image_not_an_image',
      'image_timeout',
      'image_not_found',
    ]);
    expect(out.warnings.map((w) => w.url)).toEqual([
      'https://x/gone.jpg',
      'https://x/boom.jpg',
      'https://x/truncated.jpg',
      'https://x/page.jpg',
      'https://x/slow.jpg',
    ]);
    for (const w of out.warnings) expect(w.message).not.toMatch(/\n\s+at /); // no stacks
    const srcs = load(out.html)('img').toArray().map((e) => e.attribs['src']);
    expect(srcs[0]).toBe('https://x/gone.jpg');
    expect(srcs[6]).toBe('https://x/gone.jpg'); // the lazy address, not the spinner
    expect(srcs[1]).toMatch(new RegExp(`^${MEDIA_BASE}/`));
    expect(out.stats).toMatchObject({ failed: 5 });
    expect(deps.fetcher.calls.filter((u) => u === 'https://x/gone.jpg')).toHaveLength(1);
  });

  it('re-hosts the full-size link target, falling back to the inline image', async () => {
    const deps = setup({ 'https://x/full.jpg': images.big!, 'https://x/small.jpg': images.small! });
    const out = await rehostImages(deps, input('<a href="https://x/full.jpg"><img src="https://x/small.jpg"></a>'));
    expect(deps.fetcher.calls).toEqual(['https://x/full.jpg']);
    const $ = load(out.html);
    expect($('a').attr('href')).toBe(out.images[0]!.url);
    expect(out.images[0]).toMatchObject({ original: 'https://x/small.jpg', status: 'rehosted', width: 640, height: 320 });

    const deps2 = setup({ 'https://x/small.jpg': images.small! });
    const out2 = await rehostImages(deps2, input('<a href="https://x/full.jpg"><img src="https://x/small.jpg"></a>'));
    expect(deps2.fetcher.calls).toEqual(['https://x/full.jpg', 'https://x/small.jpg']);
    expect(out2.images[0]).toMatchObject({ status: 'rehosted', width: 200 });
    expect(load(out2.html)('a').attr('href')).toBe('https://x/full.jpg');
    expect(out2.warnings).toEqual([]);
  });

  it('refuses oversized data: URIs and bucket objects', async () => {
    const deps = setup();
    await deps.incoming.put('articles-incoming', '2022/03/huge.jpg', images.big!, { contentType: 'image/jpeg' });
    const small = { ...IMAGE, maxBytes: 1000 };
    const uri = `data:image/jpeg;base64,${images.big!.toString('base64')}`;
    const out = await rehostImages(deps, input(`<img src="huge.jpg"><img src="${uri}">`, { image: small }));
    expect(out.images.map((i) => i.error?.code)).toEqual(['image_too_large', 'image_too_large']);
  });

  it('throws when its own storage fails, rather than publish half-done', async () => {
    const deps = setup({ 'https://x/a.jpg': images.small! });
    deps.media.failPuts = true;
    await expect(rehostImages(deps, input('<img src="https://x/a.jpg">'))).rejects.toThrow('S3 is down');
  });

  it('processes images concurrently within the bound', async () => {
    const routes = Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`https://x/${i}.jpg`, images.small!]));
    // different URLs, same bytes: the point is the downloads
    const deps = setup(routes, 20);
    const html = Object.keys(routes).map((u) => `<img src="${u}">`).join('');
    const out = await rehostImages(deps, input(html, { concurrency: 3 }));
    expect(deps.fetcher.calls).toHaveLength(8);
    expect(deps.fetcher.maxInFlight).toBeGreaterThan(1);
    expect(deps.fetcher.maxInFlight).toBeLessThanOrEqual(3);
    expect(out.images.every((i) => i.status === 'rehosted')).toBe(true);
  });

  it('leaves a body without images untouched', async () => {
    const deps = setup();
    const html = '<p>没有图片 &amp; no images</p>';
    const out = await rehostImages(deps, input(html));
    expect(out).toMatchObject({ html, cover: null, images: [], imageCount: 0, warnings: [] });
  });
});

describe('DynamoImageRecords', () => {
  it('stores a record under IMG#<hash> and a URL pointer under IMGURL#<sha256(url)>, and reads through the pointer', async () => {
    const items = new Map<string, Record<string, unknown>>();
    const ddb = mockClient(DynamoDBDocumentClient);
    ddb.on(PutCommand).callsFake((cmd: { TableName: string; Item: Record<string, unknown> }) => {
      expect(cmd.TableName).toBe('articles');
      items.set(`${cmd.Item['pk']}|${cmd.Item['sk']}`, cmd.Item);
      return {};
    });
    ddb.on(GetCommand).callsFake((cmd: { Key: { pk: string; sk: string } }) => ({
      Item: items.get(`${cmd.Key.pk}|${cmd.Key.sk}`),
    }));
    const store = new DynamoImageRecords(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'articles');
    const rec: ImageRecord = {
      hash: 'ab'.repeat(16),
      transformKey: 'v1-abc',
      sourceBytes: 10,
      width: 640,
      height: 320,
      animated: false,
      fallback: { type: 'image/jpeg', variants: [{ key: `img/${'ab'.repeat(16)}/640.jpg`, width: 640, height: 320, size: 5 }] },
      sources: [],
      placeholder: null,
      color: '#000000',
      createdAt: '2024-01-01T00:00:00.000Z',
    };
    await store.put(rec, { url: 'https://x/a.jpg' });
    const urlPk = `IMGURL#${createHash('sha256').update('https://x/a.jpg').digest('hex')}`;
    expect([...items.keys()].sort()).toEqual([`IMG#${rec.hash}|v1-abc`, `${urlPk}|v1-abc`].sort());
    expect(items.get(`${urlPk}|v1-abc`)).toMatchObject({ hash: rec.hash, url: 'https://x/a.jpg' });
    // no gsi attributes: image items never show up in article listings
    for (const item of items.values()) expect(Object.keys(item).some((k) => k.startsWith('gsi'))).toBe(false);

    expect(await store.getByUrl('https://x/a.jpg', 'v1-abc')).toEqual(rec);
    expect(await store.getByUrl('https://x/a.jpg', 'v2-other')).toBeNull();
    expect(await store.getByUrl('https://x/b.jpg', 'v1-abc')).toBeNull();
    expect(await store.getByHash(rec.hash, 'v1-abc')).toEqual(rec);
    ddb.restore();
  });
});
