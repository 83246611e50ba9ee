/**
 * Search tokens, the way Lucene's `cjk_bigram` filter makes them (with `output_unigrams`):
 * every run of Han, Hiragana, Katakana or Hangul becomes its overlapping two-character
 * tokens plus one token per character, the unigram sharing the position of the bigram
 * that starts there; every other run of letters and digits becomes one lowercased word
 * with its accents folded. Word segmenters split proper nouns (普|京, 泽|连|斯|基); bigrams
 * give substring-like matches instead. Pure: no I/O.
 */

const CJK = String.raw`\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u30FC`;
/** A CJK run, or a word: letters, digits and marks that are not CJK. */
const CJK_CHAR = new RegExp(`[${CJK}]`, 'u');
const TOKEN_RUN = new RegExp(`([${CJK}]+)|((?:(?![${CJK}])[\\p{L}\\p{N}\\p{M}])+)`, 'gu');

/** PostgreSQL keeps positions up to 16,383; one more is clamped, which would break phrases. */
export const MAX_POSITION = 16_383;
/** PostgreSQL keeps at most 256 positions per lexeme (tsvector). */
const MAX_POSITIONS_PER_LEXEME = 255;
/** Longer "words" (hashes, base64) are skipped: nobody searches for them, and lexemes are limited to 2 KB. */
const MAX_WORD_CHARS = 64;

/**
 * Folds one code point to one code point: accents off (é → e), lowercase. One to one, so a
 * position in the folded text is the same position in the original (snippets rely on it).
 */
export function foldChar(c: string): string {
  const lower = c.toLowerCase();
  const bare = lower.normalize('NFD').replace(/\p{M}/gu, '');
  if ([...bare].length === 1) return bare;
  return [...lower].length === 1 ? lower : c;
}

export function foldText(text: string): string {
  let out = '';
  // CJK characters are matched as written (folding would turn が into か).
  for (const c of text) out += /[\p{L}\p{M}]/u.test(c) && !CJK_CHAR.test(c) ? foldChar(c) : c;
  return out;
}

export interface Term {
  /** A CJK run (matched as a phrase of its bigrams) or a folded word. */
  kind: 'cjk' | 'word';
  text: string;
}

/** The runs of a text, folded, in order. */
export function terms(text: string): Term[] {
  const out: Term[] = [];
  for (const m of text.normalize('NFC').matchAll(TOKEN_RUN)) {
    if (m[1]) out.push({ kind: 'cjk', text: m[1] });
    else if (m[2]) {
      const word = foldText(m[2]).replace(/\p{M}/gu, '');
      if (word && [...word].length <= MAX_WORD_CHARS) out.push({ kind: 'word', text: word });
    }
  }
  return out;
}

/** The lexemes of one term, each with its offset from the term's first position. */
export function termLexemes(term: Term): { lexeme: string; offset: number }[] {
  if (term.kind === 'word') return [{ lexeme: term.text, offset: 0 }];
  const chars = [...term.text];
  const out: { lexeme: string; offset: number }[] = [];
  for (let i = 0; i < chars.length; i++) {
    out.push({ lexeme: chars[i]!, offset: i });
    if (i + 1 < chars.length) out.push({ lexeme: chars[i]! + chars[i + 1]!, offset: i });
  }
  return out;
}

export type Weight = 'A' | 'B' | 'C' | 'D';

/** Collects weighted, positioned lexemes across fields and writes a tsvector literal. */
export class TsVectorBuilder {
  private readonly lexemes = new Map<string, string[]>();
  private position = 1;

  /** True when the last field did not fit under MAX_POSITION and was cut. */
  truncated = false;

  add(text: string, weight: Weight): void {
    for (const term of terms(text)) {
      const width = term.kind === 'cjk' ? [...term.text].length : 1;
      for (const { lexeme, offset } of termLexemes(term)) {
        const pos = this.position + offset;
        if (pos > MAX_POSITION) {
          this.truncated = true;
          continue;
        }
        let list = this.lexemes.get(lexeme);
        if (!list) this.lexemes.set(lexeme, (list = []));
        if (list.length < MAX_POSITIONS_PER_LEXEME) list.push(`${pos}${weight}`);
      }
      this.position += width;
      if (this.position > MAX_POSITION) {
        this.truncated = true;
        return;
      }
    }
    // A gap between fields: a phrase never spans two of them.
    this.position = Math.min(this.position + 1, MAX_POSITION + 1);
  }

  toString(): string {
    const parts: string[] = [];
    for (const [lexeme, positions] of this.lexemes) parts.push(`${quoteLexeme(lexeme)}:${positions.join(',')}`);
    return parts.join(' ');
  }
}

function quoteLexeme(lexeme: string): string {
  return `'${lexeme.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Queries longer than this many terms are cut (each term is an index lookup). */
export const MAX_QUERY_TERMS = 16;

export interface ParsedQuery {
  /** A tsquery literal: the terms ANDed, each CJK run a phrase of its bigrams. Empty when nothing searchable. */
  tsquery: string;
  terms: Term[];
}

export function parseQuery(q: string): ParsedQuery {
  const seen = new Set<string>();
  const kept: Term[] = [];
  for (const t of terms(q)) {
    const key = `${t.kind}:${t.text}`;
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(t);
    if (kept.length === MAX_QUERY_TERMS) break;
  }
  const parts = kept.map((t) => {
    if (t.kind === 'word') return quoteLexeme(t.text);
    const chars = [...t.text];
    if (chars.length === 1) return quoteLexeme(chars[0]!);
    const bigrams: string[] = [];
    for (let i = 0; i + 1 < chars.length; i++) bigrams.push(quoteLexeme(chars[i]! + chars[i + 1]!));
    return bigrams.length === 1 ? bigrams[0]! : `(${bigrams.join(' <-> ')})`;
  });
  return { tsquery: parts.join(' & '), terms: kept };
}

/**
 * A PostgreSQL regular expression (ARE) that finds the first place any term occurs in
 * folded text: CJK runs literally, words between word boundaries. Terms hold only
 * letters, digits and marks, so nothing needs escaping.
 */
export function locatePattern(parsed: ParsedQuery): string {
  return parsed.terms.map((t) => (t.kind === 'cjk' ? t.text : `\\m${t.text}\\M`)).join('|');
}
