/**
 * Snippets: up to SNIPPET_CHARS characters of the original text around the first match,
 * HTML-escaped, with every match inside marked `<mark>…</mark>`. The text comes with its
 * folded twin (tokenize.ts foldText: one code point for one code point), so matches found
 * in the folded text mark the same characters of the original.
 */
import { escapeHtml } from '../escape';
import { foldText, type Term } from './tokenize';

export const SNIPPET_CHARS = 200;
/** Characters shown before the first match, so it reads in context. */
const LEAD = 60;

const escape = (s: string) => escapeHtml(s, { apostrophes: true });

const WORD_CHAR = /[\p{L}\p{N}\p{M}]/u;

/** [start, end) code point ranges where terms occur in `folded`, sorted, not overlapping. */
function matchRanges(folded: string[], terms: Term[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const t of terms) {
    const needle = [...t.text];
    for (let i = 0; i + needle.length <= folded.length; i++) {
      let ok = true;
      for (let j = 0; j < needle.length && ok; j++) ok = folded[i + j] === needle[j];
      if (!ok) continue;
      if (t.kind === 'word') {
        const before = folded[i - 1];
        const after = folded[i + needle.length];
        if ((before && WORD_CHAR.test(before)) || (after && WORD_CHAR.test(after))) continue;
      }
      ranges.push([i, i + needle.length]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  const merged: [number, number][] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/**
 * `text` is a window of the original (it may start mid-text); `folded` its folded twin
 * (computed here when omitted). Whitespace runs read as one space.
 */
export function makeSnippet(text: string, terms: Term[], folded?: string): string {
  const chars = [...text.replace(/\s/gu, ' ')];
  const foldedChars = [...(folded ?? foldText(text))];
  if (foldedChars.length !== chars.length) return escape(chars.slice(0, SNIPPET_CHARS).join('').trim());
  const ranges = matchRanges(foldedChars, terms);
  const first = ranges[0]?.[0] ?? 0;
  let start = Math.max(0, first - LEAD);
  const end = Math.min(chars.length, start + SNIPPET_CHARS);
  start = Math.max(0, Math.min(start, end - SNIPPET_CHARS));
  let out = '';
  let i = start;
  for (const [a, b] of ranges) {
    if (b <= start || a >= end) continue;
    const from = Math.max(a, start);
    const to = Math.min(b, end);
    out += escape(chars.slice(i, from).join('')) + '<mark>' + escape(chars.slice(from, to).join('')) + '</mark>';
    i = to;
  }
  out += escape(chars.slice(i, end).join(''));
  return out.replace(/ {2,}/g, ' ').trim();
}
