import { describe, expect, it } from 'vitest';
import {
  discoverImages,
  frontMatterImages,
  largestCandidate,
  parseSrcset,
  resolveImageAddress,
  type Candidate,
  type ImageSource,
} from '../../functions/core/images/discover';
import { ImageError } from '../../functions/core/errors';

const CTX = { articleKey: '2022/03/post.md', incomingBucket: 'articles-incoming' };

const keys = (cs: Candidate[]) => cs.map((c) => c.source?.key ?? `error:${c.error?.code}`);
const discover = (html: string, fm: Record<string, unknown> = {}) => discoverImages(html, fm, CTX);

function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ImageError);
    return (err as ImageError).code;
  }
  throw new Error('expected an ImageError');
}

describe('srcset', () => {
  it('parses candidates whose URLs contain commas', () => {
    expect(parseSrcset('https://c.example/w_100,h_50/a.jpg 100w, https://c.example/w_800,h_400/a.jpg 800w')).toEqual([
      { url: 'https://c.example/w_100,h_50/a.jpg', w: 100 },
      { url: 'https://c.example/w_800,h_400/a.jpg', w: 800 },
    ]);
    expect(parseSrcset('a.jpg, b.jpg 2x,c.jpg 1.5x')).toEqual([{ url: 'a.jpg' }, { url: 'b.jpg', x: 2 }, { url: 'c.jpg', x: 1.5 }]);
  });

  it('picks the widest, else the densest candidate', () => {
    expect(largestCandidate('s.jpg 320w, l.jpg 1280w, m.jpg 640w')).toBe('l.jpg');
    expect(largestCandidate('a.jpg, b.jpg 3x, c.jpg 2x')).toBe('b.jpg');
    expect(largestCandidate('  ')).toBeUndefined();
  });
});

describe('addresses', () => {
  it('keeps remote URLs, makes //host https and drops the fragment', () => {
    expect(resolveImageAddress('https://i.example.com/a b.jpg#x', CTX)).toEqual({
      kind: 'remote',
      key: 'https://i.example.com/a%20b.jpg',
      url: 'https://i.example.com/a%20b.jpg',
    });
    expect(resolveImageAddress('//cdn.example.com/x.png', CTX)).toMatchObject({ url: 'https://cdn.example.com/x.png' });
  });

  it('resolves relative paths against the article key, inside the upload bucket', () => {
    const key = (raw: string) => (resolveImageAddress(raw, CTX) as Extract<ImageSource, { kind: 'object' }>).objectKey;
    expect(key('images/a.png')).toBe('2022/03/images/a.png');
    expect(key('./images/a.png?v=2')).toBe('2022/03/images/a.png');
    expect(key('../img/b.jpg')).toBe('2022/img/b.jpg');
    expect(key('../../b.jpg')).toBe('b.jpg');
    expect(key('/2022/img/c.png')).toBe('2022/img/c.png');
    expect(key('%E5%9B%BE%20one.png')).toBe('2022/03/图 one.png');
    expect(resolveImageAddress('images/a.png', CTX)).toMatchObject({
      kind: 'object',
      bucket: 'articles-incoming',
      key: 's3://articles-incoming/2022/03/images/a.png',
    });
  });

  it('never climbs above the bucket root', () => {
    expect(errorCode(() => resolveImageAddress('../../../etc/passwd', CTX))).toBe('image_unsupported_url');
    expect(errorCode(() => resolveImageAddress('/../x.png', CTX))).toBe('image_unsupported_url');
    expect(errorCode(() => resolveImageAddress('%2E%2E/%2E%2E/%2E%2E/x.png', CTX))).toBe('image_unsupported_url');
    expect(errorCode(() => resolveImageAddress('a%2F..%2F..%2Fx.png', CTX))).toBe('image_unsupported_url');
    expect(errorCode(() => resolveImageAddress('images/', CTX))).toBe('image_unsupported_url');
  });

  it('refuses other schemes', () => {
    for (const raw of ['javascript:alert(1)', 'ftp://h/x.png', 'file:///etc/passwd', 'blob:https://x/y', '  ']) {
      expect(errorCode(() => resolveImageAddress(raw, CTX))).toBe('image_unsupported_url');
    }
  });

  it('decodes base64 and percent-encoded data: URIs, keyed by content', () => {
    const b64 = resolveImageAddress('data:image/png;base64,iVBO Rw0K', CTX);
    expect(b64.kind).toBe('data');
    expect(Buffer.from((b64 as { bytes: Uint8Array }).bytes)).toEqual(Buffer.from('iVBORw0K', 'base64'));

    const pct = resolveImageAddress('data:image/svg+xml;utf8,%3Csvg%20xmlns%3D%22x%22%3E%E5%9B%BE</svg>', CTX);
    expect(Buffer.from((pct as { bytes: Uint8Array }).bytes).toString('utf8')).toBe('<svg xmlns="x">图</svg>');

    const again = resolveImageAddress('data:image/png;base64,iVBORw0K', CTX);
    expect(again.key).toBe(b64.key);
    expect(again.key).not.toBe(pct.key);
    expect(errorCode(() => resolveImageAddress('data:image/png;base64', CTX))).toBe('image_unsupported_url');
    expect(errorCode(() => resolveImageAddress('data:image/png;base64,@@@', CTX))).toBe('image_unsupported_url');
  });
});

describe('front matter', () => {
  it('reads the image fields in priority order, strings, lists and objects, each once', () => {
    expect(
      frontMatterImages({
        thumbnail: 'https://x/t.jpg',
        headimg: 'https://x/h.jpg',
        images: ['https://x/i1.jpg', { src: 'https://x/i2.jpg' }, 'https://x/h.jpg'],
        og_image: { url: 'https://x/og.jpg' },
        'Feature-Image': 'f.jpg',
        cover: { image: 'cover.png', alt: 'x' },
        title: 'https://x/not-an-image-field.jpg',
        banner: 42,
        image: '',
      }),
    ).toEqual([
      'cover.png',
      'https://x/i1.jpg',
      'https://x/i2.jpg',
      'https://x/h.jpg',
      'https://x/t.jpg',
      'f.jpg',
      'https://x/og.jpg',
    ]);
  });
});

describe('discoverImages', () => {
  it('finds the sample article images once each, with the cover from front matter', () => {
    const first = 'https://i.guancha.cn/news/2022/03/02/20220302090322298.jpg';
    const d = discover(
      `<div><img src="${first}" width="970px" height="374px" referrerpolicy="no-referrer">
       <p><img src="https://i.guancha.cn/news/mainland/2022/03/02/20220302105158839.png" width="530" class="bigimg"></p>
       <p><img src="https://i.guancha.cn/news/mainland/2022/03/02/20220302094939850.jpg" width="530" height="326" alt></p></div>`,
      { headimg: first, thumbnail: first, title: 't' },
    );
    expect(d.body.map((b) => b.original)).toEqual([
      first,
      'https://i.guancha.cn/news/mainland/2022/03/02/20220302105158839.png',
      'https://i.guancha.cn/news/mainland/2022/03/02/20220302094939850.jpg',
    ]);
    expect(keys(d.cover)).toEqual([first]);
    expect(keys(d.body[0]!.candidates)).toEqual([first]);
  });

  it('reads lazy-load attributes as the real address, over a data: placeholder', () => {
    const d = discover(
      `<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="https://x/real.jpg">
       <img src="/loading.gif" data-original="https://x/orig.jpg">
       <img data-lazy-src="https://x/lazy.jpg">
       <img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-srcset="https://x/s.jpg 300w, https://x/l.jpg 900w">`,
    );
    expect(d.body.map((b) => b.original)).toEqual([
      'https://x/real.jpg',
      'https://x/orig.jpg',
      'https://x/lazy.jpg',
      'https://x/l.jpg',
    ]);
    // the placeholder never becomes a candidate where a lazy address exists
    expect(keys(d.body[0]!.candidates)).toEqual(['https://x/real.jpg']);
    expect(keys(d.body[1]!.candidates)).toEqual(['https://x/orig.jpg']);
    expect(keys(d.body[3]!.candidates)).toEqual(['https://x/l.jpg']);
  });

  it('prefers the widest srcset candidate over src', () => {
    const d = discover('<img src="https://x/m.jpg" srcset="https://x/s.jpg 320w, https://x/xl.jpg 2000w">');
    expect(keys(d.body[0]!.candidates)).toEqual(['https://x/xl.jpg', 'https://x/m.jpg']);
    expect(d.body[0]!.original).toBe('https://x/m.jpg');
  });

  it('treats a link to an image file around an image as its best source', () => {
    const d = discover(
      `<a href="https://x/full.jpg?v=1"><img src="https://x/full_small.jpg"></a>
       <a href="https://x/page.html"><img src="https://x/p.jpg"></a>
       <a href="https://x/g.png"><img src="https://x/g1.jpg"><img src="https://x/g2.jpg"></a>`,
    );
    expect(keys(d.body[0]!.candidates)).toEqual(['https://x/full.jpg?v=1', 'https://x/full_small.jpg']);
    expect(d.body[0]!.link).not.toBeNull();
    expect(d.body[0]!.linkKey).toBe('https://x/full.jpg?v=1');
    expect(d.body[1]!.link).toBeNull();
    expect(keys(d.body[1]!.candidates)).toEqual(['https://x/p.jpg']);
    // a link around several images is a gallery link, not one image's original
    expect(d.body[2]!.link).toBeNull();
    expect(d.body).toHaveLength(4);
  });

  it('reads picture sources after the image and remembers the picture', () => {
    const d = discover(
      `<picture><source type="image/avif" srcset="https://x/a.avif 1x, https://x/a2.avif 2x">
       <source data-srcset="https://x/b.webp"><img src="https://x/a.jpg"></picture>`,
    );
    expect(d.body).toHaveLength(1);
    expect(d.body[0]!.picture?.name).toBe('picture');
    expect(keys(d.body[0]!.candidates)).toEqual(['https://x/a.jpg', 'https://x/a2.avif', 'https://x/b.webp']);
  });

  it('resolves relative and data: images and keeps bad addresses as errors', () => {
    const d = discover(
      `<img src="img/a.png"><img src="data:image/png;base64,iVBORw0KGgo="><img src="../../../x.png">
       <img src="javascript:alert(1)"><img><img src="">`,
      { cover: '/covers/c.jpg' },
    );
    expect(d.body).toHaveLength(4); // images without any address are not images
    expect(keys(d.body[0]!.candidates)).toEqual(['s3://articles-incoming/2022/03/img/a.png']);
    expect(d.body[1]!.candidates[0]!.source?.kind).toBe('data');
    expect(keys(d.body[2]!.candidates)).toEqual(['error:image_unsupported_url']);
    expect(keys(d.body[3]!.candidates)).toEqual(['error:image_unsupported_url']);
    expect(keys(d.cover)).toEqual(['s3://articles-incoming/covers/c.jpg']);
  });

  it('skips the copies inside noscript', () => {
    const d = discover('<img data-src="https://x/a.jpg" class="lazyload"><noscript><img src="https://x/a.jpg"></noscript>');
    expect(d.body).toHaveLength(1);
  });
});
