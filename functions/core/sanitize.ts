/**
 * The last step of the body pipeline: an allowlist sanitizer for article HTML.
 *
 * Whatever a publisher uploads, the output holds only ordinary article markup: no
 * scripts, frames, plugins, forms, event handlers or dangerous URL schemes. Text stays
 * as characters (sanitize-html decodes entities and re-escapes only `&`, `<`, `>` and,
 * inside attributes, `"`), so Chinese text is not turned into entities.
 * Comments (including Hexo's `<!-- more -->`) are dropped: see text.ts `measure`.
 */
import sanitize from 'sanitize-html';

const ALLOWED_TAGS = [
  'p', 'div', 'span', 'br', 'hr', 'wbr',
  'h1', 'h2', 'h3', 'h4', 'h5', 'h6',
  'blockquote', 'pre', 'code', 'kbd', 'samp', 'var',
  'em', 'strong', 'b', 'i', 'u', 's', 'del', 'ins', 'mark', 'sub', 'sup', 'small',
  'abbr', 'cite', 'q', 'time', 'ruby', 'rt', 'rp',
  'a',
  'ul', 'ol', 'li', 'dl', 'dt', 'dd',
  'table', 'thead', 'tbody', 'tfoot', 'tr', 'th', 'td', 'caption', 'colgroup', 'col',
  'figure', 'figcaption', 'img', 'picture', 'source', 'video', 'audio',
  'details', 'summary',
];

/**
 * Disallowed tags whose content goes too. Everything else that is not allowed (unknown
 * or layout tags like `<section>`, `<font>`) is unwrapped: the tag goes, its text stays.
 * Void tags are listed too: harmless (they have no content) and it documents intent.
 */
const DROP_WITH_CONTENT = [
  'script', 'style', 'iframe', 'object', 'embed', 'applet', 'form', 'input', 'button',
  'textarea', 'select', 'option', 'noscript', 'template', 'svg', 'math', 'frame',
  'frameset', 'noframes', 'noembed', 'meta', 'link', 'base', 'title', 'xmp', 'plaintext',
];

const ALIGN_TAGS = new Set(['p', 'div', 'td', 'th', 'img']);
const ALIGN_VALUES = new Set(['left', 'right', 'center', 'justify']);
const INTEGER_ATTRS = ['width', 'height', 'colspan', 'rowspan', 'span', 'start'];

/** `data:` is allowed for img src only with these raster types (never SVG, which can script). */
const SAFE_DATA_IMAGE = /^data:image\/(?:png|jpe?g|gif|webp|avif)[;,]/i;

const COLOR = [
  /^#(?:[0-9a-f]{3,4}|[0-9a-f]{6}|[0-9a-f]{8})$/i,
  /^rgba?\([\d\s.,%/]+\)$/i,
  /^hsla?\([\d\s.,%/deg]+\)$/i,
  // Named colours. No parentheses, so no url(), expression() or var().
  /^[a-z]{3,30}$/i,
];

const SANITIZE_OPTIONS: sanitize.IOptions = {
  allowedTags: ALLOWED_TAGS,
  disallowedTagsMode: 'discard',
  nonTextTags: DROP_WITH_CONTENT,
  allowedAttributes: {
    '*': ['title', 'lang', 'dir', 'style'],
    a: ['href', 'rel', 'target'],
    // referrerpolicy: only `no-referrer` is kept (normalizeAttributes), which a hot-link
    // protected image that could not be re-hosted needs to show at all.
    img: ['src', 'srcset', 'sizes', 'alt', 'width', 'height', 'loading', 'decoding', 'align', 'referrerpolicy'],
    picture: [],
    source: ['src', 'srcset', 'type', 'sizes', 'media'],
    video: ['src', 'controls', 'width', 'height', 'poster', 'preload', 'loop', 'muted', 'playsinline'],
    audio: ['src', 'controls', 'preload', 'loop', 'muted'],
    p: ['align'],
    div: ['align'],
    td: ['colspan', 'rowspan', 'align'],
    th: ['colspan', 'rowspan', 'align', 'scope'],
    col: ['span'],
    colgroup: ['span'],
    ol: ['start', 'reversed', 'type'],
    time: ['datetime'],
    details: ['open'],
  },
  // Fenced code blocks from markdown-it carry `language-xxx`; other classes would let
  // an article borrow the site's own CSS, so they go.
  allowedClasses: { code: ['language-*'] },
  allowedStyles: {
    '*': {
      'text-align': [/^(?:left|right|center|justify|start|end)$/i],
      color: COLOR,
      'background-color': COLOR,
      'font-weight': [/^(?:normal|bold|bolder|lighter|[1-9]00)$/i],
      'font-style': [/^(?:normal|italic|oblique)$/i],
      'text-decoration': [/^(?:none|underline|overline|line-through)(?:\s+(?:underline|overline|line-through))*$/i],
    },
  },
  // Global default for every URL attribute, including every srcset candidate (sanitize-html
  // checks srcset against the global list); widened per tag below.
  allowedSchemes: ['http', 'https'],
  allowedSchemesByTag: {
    a: ['http', 'https', 'mailto', 'tel'],
    img: ['http', 'https', 'data'],
  },
  allowProtocolRelative: true,
  // sanitize-html's default keeps `alt=""` (decorative images) and drops other empty values.
  selfClosing: ['img', 'br', 'hr', 'wbr', 'source', 'col'],
  // Deeper markup is unwrapped (text kept): browsers flatten beyond a few hundred levels
  // anyway, and it keeps later DOM walks cheap.
  nestingLimit: 256,
  transformTags: { '*': normalizeAttributes },
};

/** Sanitize article HTML. Pure, deterministic and idempotent. */
export function sanitizeHtml(html: string): string {
  return sanitize(html, SANITIZE_OPTIONS);
}

/** Lazy-load attributes that name an image's real address (read by core/images/discover). */
const IMAGE_HINTS = ['data-src', 'data-original', 'data-srcset', 'data-lazy-src'];

const PROCESSING_OPTIONS: sanitize.IOptions = {
  ...SANITIZE_OPTIONS,
  allowedAttributes: {
    ...(SANITIZE_OPTIONS.allowedAttributes as Record<string, string[]>),
    img: [...(SANITIZE_OPTIONS.allowedAttributes as Record<string, string[]>).img!, ...IMAGE_HINTS],
    source: [...(SANITIZE_OPTIONS.allowedAttributes as Record<string, string[]>).source!, 'data-srcset'],
  },
};

/**
 * The same allowlist, keeping the lazy-load hints the image step reads. Run before any DOM
 * work on uploaded HTML: it bounds nesting (a 50,000-deep document would stall cheerio) and
 * drops everything executable early. sanitizeHtml still runs last and removes the hints.
 */
export function sanitizeForProcessing(html: string): string {
  return sanitize(html, PROCESSING_OPTIONS);
}

/**
 * Attribute rules that an allowlist alone cannot express. Runs before sanitize-html's
 * own attribute filtering; values are already entity-decoded.
 */
function normalizeAttributes(tagName: string, attribs: sanitize.Attributes): sanitize.Tag {
  const out: sanitize.Attributes = { ...attribs };

  if (out.align !== undefined) {
    const align = out.align.trim().toLowerCase();
    if (ALIGN_TAGS.has(tagName) && ALIGN_VALUES.has(align)) out.align = align;
    else delete out.align;
  }

  // `width="970px"` is common in scraped articles: keep the number a browser would read.
  for (const name of INTEGER_ATTRS) {
    const value = out[name];
    if (value === undefined) continue;
    const match = /^\s*(\d{1,6})(%?)/.exec(value);
    if (!match?.[1]) delete out[name];
    else out[name] = String(Number(match[1])) + (name === 'width' || name === 'height' ? (match[2] ?? '') : '');
  }

  if (tagName === 'a') {
    const target = out.target?.trim().toLowerCase();
    if (target === '_blank') {
      out.target = '_blank';
      // Keep the author's rel tokens, add the two that cut the opener link.
      const rel = (out.rel ?? '').toLowerCase().split(/\s+/).filter(Boolean);
      for (const token of ['noopener', 'noreferrer']) if (!rel.includes(token)) rel.push(token);
      out.rel = rel.join(' ');
    } else {
      delete out.target;
    }
  }

  if (out.srcset !== undefined) {
    const srcset = wellFormedSrcset(out.srcset);
    if (srcset === '') delete out.srcset;
    else out.srcset = srcset;
  }

  if (tagName === 'img' && out.src !== undefined) {
    // Same cleaning as sanitize-html's scheme check (it strips controls and spaces).
    // eslint-disable-next-line no-control-regex
    const src = out.src.replace(/[\x00-\x20]+/g, '');
    if (/^data:/i.test(src) && !SAFE_DATA_IMAGE.test(src)) delete out.src;
  }

  if (out.referrerpolicy !== undefined && out.referrerpolicy.trim().toLowerCase() !== 'no-referrer') {
    delete out.referrerpolicy;
  } else if (out.referrerpolicy !== undefined) {
    out.referrerpolicy = 'no-referrer';
  }

  if (tagName === 'video' || tagName === 'audio') {
    // Autoplay is not allowed, so the reader needs the controls to start it.
    out.controls = '';
  }

  return { tagName, attribs: out };
}

const ASCII_SPACE = /[ \t\n\f\r]/;
// Bounded so that sanitize-html's number round trip (parseInt/parseFloat) stays exact.
const WIDTH_DESCRIPTOR = /^[1-9]\d{0,5}w$/;
const DENSITY_DESCRIPTOR = /^(?:\d{1,3}|\d{0,3}\.\d{1,3})x$/;

/**
 * The srcset candidates a browser would accept, rewritten canonically (`url descriptor,
 * ...`). sanitize-html's srcset parser logs every malformed candidate with console.log;
 * handing it only well-formed ones keeps attacker text out of the logs.
 * Follows the HTML srcset parsing steps, minus the rarely used `h` descriptor.
 */
function wellFormedSrcset(value: string): string {
  const candidates: string[] = [];
  let pos = 0;
  while (pos < value.length) {
    while (pos < value.length && (ASCII_SPACE.test(value[pos]!) || value[pos] === ',')) pos++;
    if (pos >= value.length) break;
    const start = pos;
    while (pos < value.length && !ASCII_SPACE.test(value[pos]!)) pos++;
    let url = value.slice(start, pos);
    let descriptors: string[] = [];
    if (url.endsWith(',')) {
      url = url.replace(/,+$/, '');
    } else {
      let text = '';
      let parens = 0;
      for (; pos < value.length; pos++) {
        const c = value[pos]!;
        if (c === ',' && parens === 0) {
          pos++;
          break;
        }
        if (c === '(') parens++;
        else if (c === ')' && parens > 0) parens--;
        text += c;
      }
      descriptors = text.split(/[ \t\n\f\r]+/).filter(Boolean);
    }
    const [descriptor, ...extra] = descriptors;
    const valid =
      descriptor === undefined || (extra.length === 0 && (WIDTH_DESCRIPTOR.test(descriptor) || DENSITY_DESCRIPTOR.test(descriptor)));
    if (url !== '' && valid) candidates.push(descriptor === undefined ? url : `${url} ${descriptor}`);
  }
  return candidates.join(', ');
}
