// The viewer: a static page on the public query API of the same origin. Every string from
// the API goes in as text; only an article's `html`, which the pipeline has sanitized,
// is inserted as markup (and the page's CSP would still refuse any script in it).
// The Problems view needs what only operators see (failures, warnings): it reads the
// operator routes through the local stack's signing path /viewer/operator/ (local/viewer.ts).
const OPERATOR = '/viewer/operator';

const main = document.getElementById('main');
const statusLine = document.getElementById('status');
const day = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });
const dayTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'long', timeStyle: 'short' });
// [query parameter, count route, label]
const FACETS = [['category', 'categories', 'Category'], ['tag', 'tags', 'Tag'], ['author', 'authors', 'Author']];
const PAGE_SIZE = 12;
const PLACEHOLDER = /^data:image\/[a-z+.-]+;base64,[A-Za-z0-9+/=]+$/;

let renderId = 0;
let listHash = '#/';

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  el.append(...children.flat().filter((c) => c != null && c !== false && c !== ''));
  return el;
}

// `busy` shows the line on screen too; the aria-live region announces it either way.
function say(text, busy = false) {
  statusLine.textContent = text;
  statusLine.toggleAttribute('data-busy', busy);
}

async function api(path) {
  const res = await fetch(path, { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error ? `${body.error.message} (${body.error.code})` : `The API answered ${res.status}`);
  return body;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '') q.set(k, String(v));
  return q;
}

const facetHref = (name, value) => `#/?${query({ [name]: value })}`;
const time = (iso, fmt = day) => h('time', { datetime: iso }, fmt.format(new Date(iso)));

/** `<picture>` with the modern sources, over the blurred placeholder and dominant colour. */
function picture(image, { sizes, className, eager = false }) {
  // Attributes before `src`, so a lazy image is not fetched before it is placed.
  const img = h('img', {
    loading: eager ? 'eager' : 'lazy',
    fetchpriority: eager ? 'high' : null,
    decoding: 'async',
    alt: '',
    width: image.width,
    height: image.height,
    sizes: image.srcset ? sizes : null,
    srcset: image.srcset || null,
  });
  img.addEventListener('load', () => img.classList.add('loaded'), { once: true });
  const sources = image.sources.map((s) => h('source', { type: s.type, sizes, srcset: s.srcset }));
  const pic = h('picture', {}, sources, img);
  img.src = image.url;
  const box = h('div', { class: className }, pic);
  if (image.color) box.style.backgroundColor = image.color;
  if (image.placeholder && PLACEHOLDER.test(image.placeholder)) box.style.backgroundImage = `url("${image.placeholder}")`;
  return box;
}

function meta(a, fmt = day) {
  const parts = [a.date ? time(a.date, fmt) : 'Undated'];
  if (a.authors.length) parts.push(` · ${a.authors.join(', ')}`);
  parts.push(` · ${a.readingMinutes} min read`);
  return h('p', { class: 'meta' }, parts);
}

function chips(a) {
  const list = (name, values, label) =>
    values.length
      ? h('ul', { class: `chips chips-${name}`, 'aria-label': label },
          values.map((v) => h('li', {}, h('a', { href: facetHref(name, v) }, v))))
      : null;
  return [list('category', a.categories, 'Categories'), list('tag', a.tags, 'Tags')];
}

function card(a) {
  return h('li', {},
    h('article', { class: 'card' },
      a.cover ? picture(a.cover, { sizes: '(min-width: 1100px) 350px, (min-width: 700px) 45vw, 100vw', className: 'cover' }) : null,
      h('div', { class: 'card-body' },
        h('h2', {}, h('a', { href: `#/article/${a.id}`, class: 'stretched' }, a.title || a.slug)),
        meta(a),
        a.excerpt ? h('p', { class: 'excerpt' }, a.excerpt) : null,
        chips(a))));
}

function moreButton(label, load) {
  const button = h('button', { type: 'button', class: 'more' }, label);
  button.addEventListener('click', async () => {
    button.disabled = true;
    say('Loading…', true);
    try {
      say(await load());
    } catch (err) {
      say(`Could not load more: ${err.message}`);
    } finally {
      button.disabled = false;
    }
  });
  return button;
}

function filters(counts, active) {
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter articles' });
  form.addEventListener('submit', (e) => e.preventDefault());
  FACETS.forEach(([name, , label], i) => {
    const items = [...counts[i].items];
    const current = active?.name === name ? active.value.toLowerCase() : null;
    // A value reached by a link may count no published article: still show it as chosen.
    if (current && !items.some((c) => c.name.toLowerCase() === current)) items.unshift({ name: active.value, count: 0 });
    const select = h('select', { id: `filter-${name}` },
      h('option', { value: '' }, 'All'),
      items.map((c) => h('option', { value: c.name, selected: c.name.toLowerCase() === current }, `${c.name} (${c.count})`)));
    select.addEventListener('change', () => { location.hash = select.value ? facetHref(name, select.value) : '#/'; });
    form.append(h('div', { class: 'field' }, h('label', { for: select.id }, label), select));
  });
  form.append(h('p', { class: 'hint' }, 'One filter at a time.'));
  return form;
}

async function listView(params, isCurrent) {
  const facet = FACETS.find(([name]) => params.get(name));
  const active = facet ? { name: facet[0], value: params.get(facet[0]) } : null;
  const q = query({ limit: PAGE_SIZE, ...(active && { [active.name]: active.value }) });
  say('Loading articles…', true);
  const [page, ...counts] = await Promise.all([api(`/articles?${q}`), ...FACETS.map(([, route]) => api(`/${route}`))]);
  if (!isCurrent()) return;

  const list = h('ol', { class: 'cards' });
  let cursor = null;
  const more = moreButton('Load more', async () => {
    add(await api(`/articles?${query({ ...Object.fromEntries(q), cursor })}`));
    return shown();
  });
  const add = (p) => {
    list.append(...p.items.map(card));
    cursor = p.nextCursor;
    more.hidden = !cursor;
  };
  const shown = () => `${list.children.length} article${list.children.length === 1 ? '' : 's'} shown${cursor ? ', more available' : ''}.`;
  add(page);
  listHash = location.hash || '#/';
  document.title = `${active ? `${facet[2]}: ${active.value}` : 'Articles'} · article-pipeline`;
  main.replaceChildren(
    h('h1', { tabindex: -1 }, active ? `${facet[2]}: ${active.value}` : 'Latest articles'),
    filters(counts, active),
    list.children.length ? list : h('p', { class: 'empty' }, active ? 'No published article here.' : 'No published article yet.'),
    more,
  );
  say(shown());
}

function warningList(warnings) {
  return h('ul', { class: 'warnings' }, warnings.map((w) =>
    h('li', {}, h('code', {}, w.code), ' ', w.message, w.url ? [' ', h('span', { class: 'url' }, w.url)] : null)));
}

/** One article: published through the public route, any other (`operator`) through the operator one. */
async function articleView(id, isCurrent, operator = false) {
  say('Loading article…', true);
  const a = await api(`${operator ? `${OPERATOR}/articles` : '/articles'}/${encodeURIComponent(id)}`);
  const name = a.title || a.sourceKey || a.slug;
  if (!isCurrent()) return;
  const body = h('div', { class: 'prose' });
  body.innerHTML = a.html; // sanitized by the pipeline; inserted as markup, never evaluated
  // The cover is often the body's first image too: show it above only when it is not.
  const hero = a.cover && !a.images.some((i) => i.original === a.cover.original)
    ? picture(a.cover, { sizes: '(min-width: 820px) 760px, 100vw', className: 'hero', eager: true })
    : null;
  document.title = `${name} · article-pipeline`;
  main.replaceChildren(h('article', { class: 'full' },
    h('p', { class: 'back' }, h('a', { href: listHash }, '← All articles')),
    h('header', {}, h('h1', { tabindex: -1 }, name), meta(a, dayTime), chips(a)),
    a.error ? h('div', { class: 'problem', role: 'note' }, h('h2', {}, 'Failed'), h('p', {}, h('code', {}, a.error.code), ' ', a.error.message)) : null,
    a.warnings?.length ? h('details', { class: 'problem' }, h('summary', {}, `${a.warnings.length} warning${a.warnings.length === 1 ? '' : 's'}`), warningList(a.warnings)) : null,
    hero,
    body,
    h('footer', { class: 'meta' }, a.sourceKey ? ['Source ', h('code', {}, a.sourceKey), ' · processed '] : 'Processed ', time(a.processedAt, dayTime)),
  ));
  say(`Article loaded: ${name}.`);
}

async function problemsView(isCurrent) {
  say('Loading problems…', true);
  const failedRows = h('tbody');
  const warned = h('ul', { class: 'warned' });
  const note = h('p', { class: 'hint' });
  let failedCursor = null;
  let warnCursor = null;
  let checked = 0;
  let failedCount = 0;
  let warnedCount = 0;

  const loadFailed = async () => {
    const p = await api(`${OPERATOR}/articles?${query({ status: 'failed', limit: 50, cursor: failedCursor })}`);
    failedCount += p.items.length;
    failedRows.append(...p.items.map((a) => h('tr', {},
      h('th', { scope: 'row' }, h('a', { href: `#/operator/article/${a.id}` }, a.sourceKey)),
      h('td', {}, h('code', {}, a.error?.code ?? 'unknown')),
      h('td', {}, a.error?.message ?? ''),
      h('td', {}, time(a.processedAt)))));
    failedCursor = p.nextCursor;
    failedMore.hidden = !failedCursor;
    return `${failedCount} failed article${failedCount === 1 ? '' : 's'} shown.`;
  };
  // The API has no "has warnings" filter: read published pages and keep those with warnings.
  const loadWarned = async () => {
    const p = await api(`${OPERATOR}/articles?${query({ limit: 100, cursor: warnCursor })}`);
    checked += p.items.length;
    const hits = p.items.filter((a) => a.warnings.length);
    warnedCount += hits.length;
    warned.append(...hits.map((a) => h('li', {},
      h('h3', {}, h('a', { href: `#/operator/article/${a.id}` }, a.title || a.sourceKey)),
      h('p', { class: 'meta' }, h('code', {}, a.sourceKey)),
      warningList(a.warnings))));
    warnCursor = p.nextCursor;
    warnMore.hidden = !warnCursor;
    note.textContent = `${warnedCount} of the ${checked} newest published articles have warnings.`;
    return note.textContent;
  };
  const failedMore = moreButton('Load more failures', loadFailed);
  const warnMore = moreButton('Check older articles', loadWarned);
  await Promise.all([loadFailed(), loadWarned()]);
  if (!isCurrent()) return;

  document.title = 'Problems · article-pipeline';
  main.replaceChildren(
    h('h1', { tabindex: -1 }, 'Problems'),
    h('section', { 'aria-labelledby': 'failed-h' },
      h('h2', { id: 'failed-h' }, 'Failed articles'),
      failedCount
        ? h('div', { class: 'table-wrap' }, h('table', {},
            h('thead', {}, h('tr', {}, ['Source key', 'Code', 'Message', 'Processed'].map((t) => h('th', { scope: 'col' }, t)))),
            failedRows))
        : h('p', { class: 'empty' }, 'No failed article.'),
      failedMore),
    h('section', { 'aria-labelledby': 'warned-h' },
      h('h2', { id: 'warned-h' }, 'Published with warnings'),
      note,
      warned,
      warnMore),
  );
  say(`${failedCount} failed, ${warnedCount} with warnings.`);
}

/** The snippet is escaped HTML with <mark>: rebuilt as text and mark elements only. */
function snippetNode(snippet) {
  const parsed = new DOMParser().parseFromString(`<p>${snippet}</p>`, 'text/html').body.firstChild;
  const p = h('p', { class: 'snippet' });
  for (const node of parsed?.childNodes ?? []) p.append(node.nodeName === 'MARK' ? h('mark', {}, node.textContent) : document.createTextNode(node.textContent ?? ''));
  return p;
}

async function searchView(params, isCurrent) {
  const q = params.get('q') ?? '';
  document.getElementById('search-q').value = q;
  say('Searching…', true);
  const page = await api(`/search?${query({ q, limit: PAGE_SIZE })}`);
  if (!isCurrent()) return;
  const list = h('ol', { class: 'cards' });
  let cursor = null;
  const more = moreButton('More results', async () => {
    add(await api(`/search?${query({ q, limit: PAGE_SIZE, cursor })}`));
    return shown();
  });
  const add = (p) => {
    list.append(...p.items.map((a) => {
      const li = card(a);
      li.querySelector('.card-body')?.append(snippetNode(a.snippet));
      return li;
    }));
    cursor = p.nextCursor;
    more.hidden = !cursor;
  };
  const shown = () => `${list.children.length} result${list.children.length === 1 ? '' : 's'} for “${q}”${cursor ? ', more available' : ''}.`;
  add(page);
  listHash = location.hash;
  document.title = `Search: ${q} · article-pipeline`;
  main.replaceChildren(h('h1', { tabindex: -1 }, `Search: ${q}`), list.children.length ? list : h('p', { class: 'empty' }, 'No published article matches.'), more);
  say(shown());
}

document.getElementById('search-form')?.addEventListener('submit', (e) => {
  e.preventDefault();
  const q = document.getElementById('search-q').value.trim();
  if (q) location.hash = `#/search?${new URLSearchParams({ q })}`;
});

function setNav(view) {
  for (const link of document.querySelectorAll('nav a[data-view]')) {
    if (link.dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

async function render(moveFocus) {
  const [path, search = ''] = (location.hash.slice(1) || '/').split('?');
  const id = ++renderId;
  const isCurrent = () => id === renderId;
  const article = /^(\/operator)?\/article\/([A-Za-z0-9_-]{1,64})$/.exec(path);
  setNav(path === '/problems' || article?.[1] ? 'problems' : 'list');
  main.setAttribute('aria-busy', 'true');
  try {
    if (article) await articleView(article[2], isCurrent, Boolean(article[1]));
    else if (path === '/problems') await problemsView(isCurrent);
    else if (path === '/search') await searchView(new URLSearchParams(search), isCurrent);
    else if (path === '/') await listView(new URLSearchParams(search), isCurrent);
    else {
      main.replaceChildren(h('h1', { tabindex: -1 }, 'Not found'), h('p', {}, h('a', { href: '#/' }, 'Back to the articles')));
      say('');
    }
  } catch (err) {
    if (!isCurrent()) return;
    main.replaceChildren(h('h1', { tabindex: -1 }, 'Could not load this page'), h('p', { class: 'error', role: 'alert' }, err.message));
    say('');
  }
  if (!isCurrent()) return;
  main.removeAttribute('aria-busy');
  if (moveFocus) {
    window.scrollTo(0, 0);
    main.querySelector('h1')?.focus({ preventScroll: true });
  }
}

// Only "#/..." is a route; other fragments (the skip link, footnotes in a body) stay in-page.
document.addEventListener('click', (e) => {
  const link = e.target instanceof Element ? e.target.closest('a[href^="#"]') : null;
  const href = link?.getAttribute('href');
  if (!href || href.startsWith('#/')) return;
  e.preventDefault();
  const target = document.getElementById(decodeURIComponent(href.slice(1)));
  if (!target) return;
  if (!target.hasAttribute('tabindex')) target.setAttribute('tabindex', '-1');
  target.focus();
});
window.addEventListener('hashchange', () => {
  if (!location.hash || location.hash.startsWith('#/')) render(true);
});
render(false);
