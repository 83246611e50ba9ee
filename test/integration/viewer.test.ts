/**
 * The viewer page of the local stack: its static route over HTTP, then the page itself in
 * Debian's Chromium (driven by playwright-core; no browser is ever downloaded), against
 * articles with images served by the loopback origin, a failed upload and a broken image.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, findBySourceKey, settle, stack, upload, uniq } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(`viewer browser test skipped: ${CHROMIUM} not found. Install it with \`apt-get install chromium\` (Debian); .ci/run does.`);
}
// Chromium's own services stay off: the page may only talk to the loopback stack.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];
/**
 * Screenshots go to test/.artifacts/ (git-ignored) on every run, so a test run leaves the
 * work tree clean; `UPDATE_SCREENSHOTS=1 npm test` refreshes the ones the README shows.
 */
const SHOTS = process.env.UPDATE_SCREENSHOTS ? new URL('../../docs/', import.meta.url) : new URL('../.artifacts/', import.meta.url);
mkdirSync(SHOTS, { recursive: true });
const MEDIA_BASE = `${stack.s3Endpoint}/${stack.mediaBucket}/`;

/** Raw HTTP, so paths reach the server exactly as written (fetch would normalize `..`). */
function rawGet(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(stack.apiUrl);
  return new Promise((ok, fail) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('viewer route', () => {
  it('serves the page and its files with their content types, revalidation and a CSP', async () => {
    const page = await rawGet('/');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body.toString()).toContain('<script type="module" src="/viewer/app.js"></script>');

    for (const [path, type] of [['/viewer/app.js', 'text/javascript; charset=utf-8'], ['/viewer/style.css', 'text/css; charset=utf-8']] as const) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(200);
      expect(res.headers['content-type'], path).toBe(type);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      const again = await rawGet(path, { 'if-none-match': String(res.headers.etag) });
      expect(again.status, path).toBe(304);
      expect(again.body.length).toBe(0);
    }
  });

  it('is small on the wire: gzipped when asked, the same bytes inside', async () => {
    let wire = 0;
    for (const path of ['/', '/viewer/app.js', '/viewer/style.css']) {
      const plain = await rawGet(path);
      const zipped = await rawGet(path, { 'accept-encoding': 'gzip, br' });
      expect(zipped.headers['content-encoding']).toBe('gzip');
      expect(zipped.headers.etag).not.toBe(plain.headers.etag);
      expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
      wire += zipped.body.length;
    }
    expect(wire).toBeLessThan(12 * 1024);
  });

  it('answers HEAD, refuses other methods, and serves nothing outside its directory', async () => {
    const head = await rawGet('/viewer/app.js', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(1000);
    expect(head.body.length).toBe(0);
    expect((await rawGet('/', {}, 'POST')).status).toBe(405);
    // A target that is no path goes on to the API's 400, never a 500 from the viewer's URL parsing.
    for (const path of ['//%ZZ/x', '//']) expect((await rawGet(path)).status, path).toBe(400);
    for (const path of ['/viewer/..%2f..%2fpackage.json', '/viewer/%2e%2e/viewer.ts', '/viewer/../viewer.ts', '/viewer/missing.js', '/viewer/', '/viewer/.hidden.js']) {
      const res = await rawGet(path);
      expect(res.status, path).toBe(404);
      expect(res.body.toString(), path).not.toMatch(/import|"name"/);
    }
  });

  it('reads operator routes for the Problems view through its signing path, GET only', async () => {
    const failed = await rawGet('/viewer/operator/articles?status=failed&limit=1');
    expect(failed.status).toBe(200);
    expect(failed.headers['cache-control']).toBe('no-store');
    expect(JSON.parse(failed.body.toString())).toHaveProperty('nextCursor');
    // The same route unsigned is refused: the signing path is what lets the page through.
    expect((await rawGet('/admin/articles?status=failed&limit=1')).status).toBe(403);
    expect((await rawGet('/viewer/operator/articles?status=nope')).status).toBe(400);
    expect((await rawGet('/viewer/operator/articles/doesNotExist1')).status).toBe(404);
    for (const path of ['/viewer/operator/', '/viewer/operator/../admin/articles', '/viewer/operator/articles/a/b', '/viewer/operator/health']) {
      expect((await rawGet(path)).status, path).toBe(404);
    }
    expect((await rawGet('/viewer/operator/articles', {}, 'POST')).status).toBe(405);
  });

  it('leaves every other path to the query API', async () => {
    const res = await api('/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});

/** A calm, recognizable picture (sky, sun, hills or a skyline) rather than noise: it ends up in docs/. */
function scene(width: number, height: number, [top, bottom, sun, far, near]: string[], city: boolean): string {
  const skyline = city
    ? [8, 22, 34, 50, 61, 78, 92, 104, 121, 136, 148]
        .map((x, i) => `<rect x="${x}" y="${34 + ((i * 17) % 26)}" width="${10 + (i % 3) * 3}" height="60" fill="${i % 2 ? far : near}"/>`)
        .join('')
    : `<path d="M0 62 L28 38 L46 52 L70 28 L96 55 L120 40 L160 60 V90 H0Z" fill="${far}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 160 90" preserveAspectRatio="none">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${top}"/><stop offset="1" stop-color="${bottom}"/></linearGradient></defs>
<rect width="160" height="90" fill="url(#sky)"/><circle cx="118" cy="26" r="10" fill="${sun}"/>${skyline}
<path d="M0 76 Q40 64 80 74 T160 72 V90 H0Z" fill="${near}"/></svg>`;
}

const PALETTES = {
  fjord: ['#8fb8de', '#e8f1f8', '#fff4c2', '#4a6b82', '#2f4858'],
  fog: ['#c9d3dc', '#eef1f4', '#ffffff', '#8797a6', '#5d6d7c'],
  market: ['#1b1f3b', '#5b3a70', '#ffcf5c', '#2a2d4f', '#ff7a59'],
  tide: ['#f6c28b', '#fde8d0', '#fff3e0', '#7aa6a1', '#3d6e6a'],
  lisbon: ['#6cb4ee', '#d9efff', '#ffe08a', '#e9a23b', '#c8553d'],
  notes: ['#b8c6db', '#f5f7fa', '#fefefe', '#9aa5b1', '#52606d'],
};

describe.skipIf(!hasChromium)('viewer page in Chromium', () => {
  const ns = uniq('viewer');
  const origin = `${stack.originUrl}/${ns}`;
  const key = (name: string) => `${ns}/${name}.md`;
  const titles = {
    fjord: 'Walking the ridge above the fjord',
    market: 'Night markets of Taipei',
    tide: 'Tide pools at low water',
    lisbon: 'A tram ride through Lisbon',
    broken: 'Notes with a missing picture',
  };
  const ids: Record<string, string> = {};
  const problems: string[] = [];
  const offLoopback: string[] = [];
  let browser: Browser;
  let page: Page;

  async function picture(name: keyof typeof PALETTES, width: number, height: number, format: 'jpeg' | 'png', city = false) {
    const file = join(stack.originDir, ns, `${name}.${format === 'jpeg' ? 'jpg' : 'png'}`);
    mkdirSync(dirname(file), { recursive: true });
    const img = sharp(Buffer.from(scene(width, height, PALETTES[name], city)));
    writeFileSync(file, await (format === 'jpeg' ? img.jpeg({ quality: 85 }) : img.png()).toBuffer());
    return `${origin}/${name}.${format === 'jpeg' ? 'jpg' : 'png'}`;
  }

  const post = (fm: Record<string, unknown>, body: string) => `---\n${JSON.stringify(fm, null, 1)}\n---\n${body}\n`;

  beforeAll(async () => {
    const [fjord, fog, market, tide, lisbon, notes] = await Promise.all([
      picture('fjord', 1600, 900, 'jpeg'),
      picture('fog', 1200, 800, 'png'),
      picture('market', 1280, 720, 'jpeg', true),
      picture('tide', 1400, 933, 'jpeg'),
      picture('lisbon', 1200, 800, 'png', true),
      picture('notes', 960, 540, 'jpeg'),
    ]);
    // JSON is YAML: front matter without quoting worries.
    await Promise.all([
      upload(key('fjord'), post(
        { title: titles.fjord, date: '2024-06-02T07:30:00Z', author: 'Ana Ruiz', categories: ['Landscapes'], tags: ['hiking', 'field-notes'], cover: fjord },
        [
          'The path leaves the village before sunrise and climbs through birch woods until the trees give up. From the first cairn the whole fjord opens below, still as glass.',
          '## The climb',
          'Above the tree line the ridge narrows to a spine of grey rock. The wind turns around noon and the fog that filled the valley all morning starts to lift.',
          `![Fog lifting over the water](${fog})`,
          '> Take the descent slowly: the last stretch is loose scree.',
          'What to bring:\n\n- water, more than you think\n- a wind jacket\n- a paper map',
        ].join('\n\n'),
      )),
      upload(key('market'), post(
        { title: titles.market, date: '2024-05-18T19:00:00Z', author: 'Kenji Sato', categories: ['Cities'], tags: ['food', 'field-notes'] },
        `![Stalls under lanterns](${market})\n\nSteam rises from every stall once the lanterns come on. Oyster omelettes, pepper buns and bubble tea: the queue tells you where to eat.`,
      )),
      upload(key('tide'), post(
        { title: titles.tide, date: '2024-04-09T11:15:00Z', author: 'Ana Ruiz', categories: ['Landscapes'], tags: ['coast', 'field-notes'], cover: tide },
        'Two hours after high water the rock shelf appears. Anemones close as the water drains away, and crabs wait out the sun in the cracks.',
      )),
      upload(key('lisbon'), post(
        { title: titles.lisbon, date: '2024-03-21T09:45:00Z', author: 'Marta Lopes', categories: ['Cities'], tags: ['trams', 'field-notes'], cover: lisbon },
        'Line 28 climbs through Graça and Alfama in yellow cars built in the 1930s. Sit on the right for the river, and hold on at the curves.',
      )),
      upload(key('broken'), post(
        { title: titles.broken, date: '2024-02-11T16:00:00Z', author: 'Kenji Sato', categories: ['Notes'], tags: ['field-notes'], cover: notes },
        `Short notes from a rainy week. One picture is gone from its origin, so it stays linked there and the article carries a warning.\n\n![Gone](${origin}/missing.jpg)`,
      )),
      upload(key('bad'), '---\ntitle: "unclosed\ndate: 2024-01-01\n---\nbody\n'),
    ]);
    await settle();
    for (const name of Object.keys(titles)) {
      const found = await findBySourceKey(key(name));
      expect(found, name).toBeDefined();
      ids[name] = found.id;
    }
    const bad = await findBySourceKey(key('bad'), 'failed');
    expect(bad?.error?.code).toBe('invalid_front_matter');
    ids.bad = bad.id;

    mkdirSync(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const context = await browser.newContext({ viewport: { width: 1200, height: 800 }, locale: 'en-US', colorScheme: 'light' });
    // Anything not on loopback is refused and recorded (the viewer must never need it).
    await context.route(
      (url) => !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && url.protocol !== 'data:',
      (route) => {
        offLoopback.push(route.request().url());
        return route.abort();
      },
    );
    page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  const cardTitles = (p: Page) => p.locator('.cards h2').allTextContents();

  /** Scrolls each image into view (lazy loading), waits until it settles, and returns what loaded. */
  async function loadAll(images: Locator): Promise<{ src: string; width: number }[]> {
    const out = [];
    for (const img of await images.all()) {
      await img.scrollIntoViewIfNeeded();
      await img.evaluate((el: any) =>
        el.complete
          ? undefined
          : new Promise((done) => {
              el.addEventListener('load', done, { once: true });
              el.addEventListener('error', done, { once: true });
            }),
      );
      out.push(await img.evaluate((el: any) => ({ src: String(el.currentSrc), width: Number(el.naturalWidth) })));
    }
    return out;
  }

  it('lists articles with their covers, dates, categories and tags, every image loaded', async () => {
    await page.goto(`${stack.apiUrl}/#/?tag=field-notes`);
    await expect.poll(() => cardTitles(page)).toEqual([titles.fjord, titles.market, titles.tide, titles.lisbon, titles.broken]);
    await expect.poll(() => page.locator('main').getAttribute('aria-busy')).toBeNull();

    const first = page.locator('.cards > li').first();
    expect(await first.locator('time').textContent()).toBe(new Intl.DateTimeFormat('en-US', { dateStyle: 'medium' }).format(new Date('2024-06-02T07:30:00Z')));
    expect(await first.locator('.chips-category a').allTextContents()).toEqual(['Landscapes']);
    expect(await first.locator('.chips-tag a').allTextContents()).toEqual(['hiking', 'field-notes']);
    expect(await first.locator('.cover').evaluate((el: any) => el.style.backgroundImage)).toMatch(/^url\("data:image\//);
    expect(await page.locator('#filter-category option', { hasText: 'Landscapes' }).textContent()).toBe('Landscapes (2)');

    const covers = page.locator('.cards img');
    expect(await covers.count()).toBe(5);
    for (const img of await covers.all()) {
      expect(await img.getAttribute('loading')).toBe('lazy');
      expect(Number(await img.getAttribute('width'))).toBeGreaterThan(0);
      expect(Number(await img.getAttribute('height'))).toBeGreaterThan(0);
      expect(await img.getAttribute('alt')).toBe('');
    }
    const loaded = await loadAll(covers);
    for (const { src, width } of loaded) {
      expect(width, src).toBeGreaterThan(0);
      // The browser picked a re-hosted variant from the media bucket (another origin, no CORS needed).
      expect(src.startsWith(MEDIA_BASE), src).toBe(true);
    }
    expect(loaded.some((l) => l.src.endsWith('.webp'))).toBe(true);

    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: new URL('viewer-list.png', SHOTS).pathname, animations: 'disabled' });
  });

  it('narrows the list with the category, tag and author filters', async () => {
    await page.goto(`${stack.apiUrl}/#/`);
    await page.getByLabel('Category', { exact: true }).selectOption('Landscapes');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Category: Landscapes');
    expect(await cardTitles(page)).toEqual([titles.fjord, titles.tide]);
    expect(page.url()).toContain('#/?category=Landscapes');

    await page.getByLabel('Author', { exact: true }).selectOption('Kenji Sato');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Author: Kenji Sato');
    expect(await cardTitles(page)).toEqual([titles.market, titles.broken]);
    // One facet at a time, as the API takes it.
    expect(await page.getByLabel('Category', { exact: true }).inputValue()).toBe('');

    await page.getByLabel('Tag', { exact: true }).selectOption('coast');
    // The stack is shared: the demo's Hugo lighthouse post is tagged "coast" too.
    const ours = new Set<string>(Object.values(titles));
    await expect.poll(async () => (await cardTitles(page)).filter((t) => ours.has(t))).toEqual([titles.tide]);
  });

  it('opens an article: processed html as-is, its images loaded from the media bucket', async () => {
    await page.goto(`${stack.apiUrl}/#/?category=Landscapes`);
    await page.getByRole('link', { name: titles.fjord }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe(titles.fjord);
    expect(page.url()).toContain(`#/article/${ids.fjord}`);
    // Focus moves to the new view's heading, for keyboard and screen-reader users.
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.tagName)).toBe('H1');

    const article = (await api(`/articles/${ids.fjord}`)).body;
    expect(await page.locator('.prose h2').textContent()).toBe('The climb');
    const bodyImages = page.locator('.prose img');
    expect(await bodyImages.count()).toBe(article.imageCount);
    expect(await bodyImages.first().getAttribute('alt')).toBe('Fog lifting over the water');
    expect(await page.locator('.prose source[type="image/webp"]').count()).toBe(article.imageCount);
    // The cover (from front matter, not in the body) is shown above the body.
    expect(await page.locator('.hero img').count()).toBe(1);

    const loaded = await loadAll(page.locator('main img'));
    expect(loaded).toHaveLength(article.imageCount + 1);
    for (const { src, width } of loaded) {
      expect(width, src).toBeGreaterThan(0);
      expect(src.startsWith(MEDIA_BASE), src).toBe(true);
    }
    await page.evaluate(() => (globalThis as any).scrollTo(0, 0));
    await page.screenshot({ path: new URL('viewer-article.png', SHOTS).pathname, fullPage: true, animations: 'disabled' });
  });

  it('shows problems: the failed upload with its error code, and the warnings of a published one', async () => {
    await page.getByRole('link', { name: 'Problems' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Problems');
    const failedRow = page.locator('tbody tr', { hasText: key('bad') });
    const warned = page.locator('.warned > li', { hasText: titles.broken });
    // Other test files share the stack: page on until ours show up (or the lists end).
    for (const [target, more] of [[failedRow, 'Load more failures'], [warned, 'Check older articles']] as const) {
      const button = page.getByRole('button', { name: more });
      while ((await target.count()) === 0 && (await button.isVisible())) {
        await button.click();
        await expect.poll(() => button.isDisabled()).toBe(false);
      }
    }
    await expect.poll(() => failedRow.count()).toBe(1);
    expect(await failedRow.locator('td code').textContent()).toBe('invalid_front_matter');
    expect(await failedRow.textContent()).toMatch(/line \d+/);
    expect(await warned.locator('.warnings code').allTextContents()).toEqual(['image_not_found']);
    expect(await warned.locator('.url').textContent()).toBe(`${origin}/missing.jpg`);

    // The failed article opens too, and says why.
    await failedRow.getByRole('link').click();
    await expect.poll(() => page.locator('.problem code').first().textContent()).toBe('invalid_front_matter');
  });

  it('ran without a console error, a page error, or a request off loopback', () => {
    expect(problems).toEqual([]);
    expect(offLoopback).toEqual([]);
  });
});
