/**
 * The safety oracle shared by the sanitizer tests and the hostile corpus: why a piece of
 * HTML could run script once a browser parses it.
 */
import { load } from 'cheerio';

const FORBIDDEN_TAGS = new Set([
  'script', 'style', 'iframe', 'object', 'embed', 'applet', 'form', 'input', 'button',
  'textarea', 'select', 'noscript', 'template', 'svg', 'math', 'frame', 'frameset', 'meta',
  'link', 'base', 'xmp',
]);
const URL_ATTRS = ['href', 'src', 'poster', 'action', 'formaction', 'xlink:href', 'cite', 'background', 'data'];
const SAFE_DATA_IMAGE = /^data:image\/(?:png|jpe?g|gif|webp|avif)[;,]/i;

/** How a browser would read a URL attribute's scheme: controls and spaces are ignored. */
export function dangerousUrl(value: string, allowRasterData: boolean): boolean {
  // eslint-disable-next-line no-control-regex
  const url = value.replace(/[\x00-\x20]+/g, '').toLowerCase();
  if (/^(?:javascript|vbscript):/.test(url)) return true;
  if (url.startsWith('data:')) return !(allowRasterData && SAFE_DATA_IMAGE.test(url));
  return false;
}

/**
 * Reasons why `html` could execute script, as a browser (parse5, via cheerio) parses it.
 * Attribute values come back entity-decoded, so `&#106;avascript:` is caught.
 */
export function unsafeReasons(html: string): string[] {
  const reasons: string[] = [];
  for (const raw of [/<\s*script/i, /<\s*iframe/i, /<\s*object/i, /<\s*embed/i, /<\s*svg/i, /<\s*math/i]) {
    if (raw.test(html)) reasons.push(`raw ${raw}`);
  }
  const $ = load(html, null, false);
  $('*').each((_, node) => {
    if (!('attribs' in node)) return;
    const el = node;
    if (FORBIDDEN_TAGS.has(el.tagName)) reasons.push(`tag <${el.tagName}>`);
    for (const [name, value] of Object.entries(el.attribs)) {
      if (/^on/i.test(name)) reasons.push(`event handler ${name}`);
      if (name === 'srcdoc' || name === 'formaction' || name === 'style' && /url\(|expression|behavior|binding/i.test(value)) {
        reasons.push(`attribute ${name}`);
      }
      if (URL_ATTRS.includes(name) && dangerousUrl(value, el.tagName === 'img' && name === 'src')) {
        reasons.push(`url ${name}=${value}`);
      }
      if (name === 'srcset' || name === 'imagesrcset') {
        for (const url of srcsetUrls(value)) {
          if (dangerousUrl(url, false)) reasons.push(`srcset ${value}`);
        }
      }
      if (name === 'http-equiv') reasons.push('http-equiv');
    }
  });
  return reasons;
}

/** Candidate URLs as the HTML srcset parser finds them (a URL may contain commas). */
export function srcsetUrls(srcset: string): string[] {
  const urls: string[] = [];
  let rest = srcset;
  for (;;) {
    rest = rest.replace(/^[\s,]+/, '');
    if (rest === '') return urls;
    const url = /^\S+/.exec(rest)![0];
    rest = rest.slice(url.length);
    if (url.endsWith(',')) {
      urls.push(url.replace(/,+$/, ''));
      continue;
    }
    urls.push(url);
    const comma = rest.indexOf(','); // the descriptors end at the next comma
    rest = comma === -1 ? '' : rest.slice(comma + 1);
  }
}
