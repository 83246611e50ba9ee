/** HTML escaping for text and attribute values we write ourselves. No imports: any bundle can carry it. */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const DOUBLE_QUOTED = /[&<>"]/g;
const ANY_QUOTE = /[&<>"']/g;

/** `& < > "` as entities (enough for text and double-quoted attributes); `'` too with `apostrophes`. */
export function escapeHtml(s: string, opts: { apostrophes?: boolean } = {}): string {
  return s.replace(opts.apostrophes ? ANY_QUOTE : DOUBLE_QUOTED, (c) => ESCAPES[c]!);
}
