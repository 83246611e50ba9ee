/**
 * ARTICLE_URL_TEMPLATE: where an article's page lives on the publisher's site, e.g.
 * `https://example.com/{yyyy}/{mm}/{slug}/`. Feeds and the sitemap link with it; nothing
 * else invents article links. Pure: no I/O.
 *
 * Placeholders: {yyyy} {mm} {dd} (the article's `date`, else `updated`, in DEFAULT_TIMEZONE,
 * as Hugo and Hexo put dates into permalinks), {slug} (URL-encoded), {id}.
 */
import { ConfigError } from './errors';

export const URL_PLACEHOLDERS = ['yyyy', 'mm', 'dd', 'slug', 'id'] as const;
type Placeholder = (typeof URL_PLACEHOLDERS)[number];

export interface ArticleUrlTemplate {
  /** The template as configured. */
  source: string;
  /** Literal text and placeholders, in order. */
  parts: (string | { name: Placeholder })[];
  /** Whether a date placeholder is used (an article without a date then has no link). */
  needsDate: boolean;
  /** The site's home page: the template's origin, with a trailing slash. */
  home: string;
}

/** What a link is built from (a subset of ArticleSummary). */
export interface LinkFields {
  id: string;
  slug: string;
  date: string | null;
  updated: string | null;
}

/** Parses and checks the template; throws ConfigError naming `name` when it is unusable. */
export function parseArticleUrlTemplate(source: string, name = 'ARTICLE_URL_TEMPLATE'): ArticleUrlTemplate {
  const parts: ArticleUrlTemplate['parts'] = [];
  const re = /\{([^{}]*)\}/g;
  let last = 0;
  for (let m = re.exec(source); m; m = re.exec(source)) {
    if (m.index > last) parts.push(source.slice(last, m.index));
    const p = m[1]!;
    if (!(URL_PLACEHOLDERS as readonly string[]).includes(p)) {
      throw new ConfigError(`${name} has an unknown placeholder {${p}}; use ${URL_PLACEHOLDERS.map((x) => `{${x}}`).join(' ')}`);
    }
    parts.push({ name: p as Placeholder });
    last = m.index + m[0].length;
  }
  if (last < source.length) parts.push(source.slice(last));
  const literal = parts.filter((p): p is string => typeof p === 'string').join('');
  if (/[{}]/.test(literal)) throw new ConfigError(`${name} has an unbalanced brace: "${source}"`);
  const names = new Set(parts.flatMap((p) => (typeof p === 'string' ? [] : [p.name])));
  if (!names.has('slug') && !names.has('id')) {
    throw new ConfigError(`${name} must contain {slug} or {id}, or every article would share one URL: "${source}"`);
  }
  // Substituting plain sample values must give an absolute http(s) URL.
  const sample = render(parts, { yyyy: '2022', mm: '03', dd: '02', slug: 'a-slug', id: 'an-id' });
  let url: URL;
  try {
    url = new URL(sample);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL with placeholders, e.g. https://example.com/{yyyy}/{mm}/{slug}/, got "${source}"`);
  }
  if (!(typeof parts[0] === 'string' && parts[0].startsWith(`${url.protocol}//${url.host}`))) {
    throw new ConfigError(`${name} must not put a placeholder in the scheme or host: "${source}"`);
  }
  return { source, parts, needsDate: names.has('yyyy') || names.has('mm') || names.has('dd'), home: `${url.origin}/` };
}

function render(parts: ArticleUrlTemplate['parts'], values: Record<Placeholder, string>): string {
  return parts.map((p) => (typeof p === 'string' ? p : values[p.name])).join('');
}

/** Year, month and day of an instant in `timeZone` (UTC without loading ICU's zone data). */
function dateParts(iso: string, timeZone: string): { yyyy: string; mm: string; dd: string } | null {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return null;
  if (timeZone.toUpperCase() === 'UTC') {
    return { yyyy: String(d.getUTCFullYear()).padStart(4, '0'), mm: String(d.getUTCMonth() + 1).padStart(2, '0'), dd: String(d.getUTCDate()).padStart(2, '0') };
  }
  const fmt = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
  const get = (t: string) => fmt.formatToParts(d).find((p) => p.type === t)?.value ?? '';
  return { yyyy: get('year').padStart(4, '0'), mm: get('month'), dd: get('day') };
}

/**
 * The article's public URL, or null when the template needs a date and the article has
 * none (a link is never guessed). Slug and id are URL-encoded as one path segment each.
 */
export function articleUrl(t: ArticleUrlTemplate, a: LinkFields, timeZone = 'UTC'): string | null {
  const when = a.date ?? a.updated;
  const parts = when ? dateParts(when, timeZone) : null;
  if (t.needsDate && !parts) return null;
  return render(t.parts, {
    yyyy: parts?.yyyy ?? '',
    mm: parts?.mm ?? '',
    dd: parts?.dd ?? '',
    slug: encodeURIComponent(a.slug),
    id: encodeURIComponent(a.id),
  });
}
