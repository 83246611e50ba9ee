/**
 * Front matter: split an article file into metadata and body. Pure: no I/O.
 *
 * Dialects, as the generators that publishers export from write them:
 * - YAML between `---` lines (Jekyll, Hexo, Hugo), closed by `---` or `...`;
 * - Hexo's YAML without the opening `---` (`key: value` lines, then a `---` line);
 * - TOML between `+++` lines (Hugo);
 * - JSON: a Hugo `{ ... }` object at the top, or Hexo's `;;;`-closed form, whose
 *   properties usually come without braces (Hexo wraps them in `{}` before parsing).
 *
 * The result is plain JSON-compatible data: YAML uses the core schema, so timestamps stay
 * strings (normalize reads them in the default time zone), TOML dates become their text.
 */
import { isMap, isScalar, isSeq, parseDocument, visit } from 'yaml';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ArticleError, errorMessage } from './errors';
import type { ParsedFrontMatter, Warning } from './types';

export const FRONT_MATTER_LIMITS = {
  /** Characters of front matter; long prose belongs in the body. */
  maxChars: 100_000,
  /** Nesting of lists/maps (DynamoDB stores at most 32 levels, the record adds some). */
  maxDepth: 24,
  /** Scalars and collections after alias expansion. */
  maxValues: 10_000,
  /** Alias (`*name`) expansions: a billion-laughs document fails here, fast. */
  maxAliasCount: 100,
} as const;

type Dialect = 'yaml' | 'toml' | 'json';
const LABEL: Record<Dialect, string> = { yaml: 'YAML', toml: 'TOML', json: 'JSON' };

const YAML_OPEN = /^-{3,}[ \t]*$/;
const TOML_OPEN = /^\+{3,}[ \t]*$/;
const JSON_OPEN = /^;{3,}[ \t]*$/;
const YAML_CLOSE = /^(?:-{3,}|\.{3})[ \t]*$/gm;
const TOML_CLOSE = /^\+{3,}[ \t]*$/gm;
const JSON_CLOSE = /^;{3,}[ \t]*$/gm;
const BARE_CLOSE = /^(?:-{3,}|;{3,})[ \t]*$/gm;
/** `title: x`, `"title": x`: what the first line of Hexo's bare YAML looks like. */
const YAML_KEY_LINE = /^(?:"[^"\n]+"|'[^'\n]+'|[\p{L}\p{N}_$][\p{L}\p{N}_ $.-]*?)[ \t]*:(?:[ \t]|$)/u;
/** `"title": "x",`: the first line of Hexo's bare JSON. */
const JSON_KEY_LINE = /^[ \t]*"(?:[^"\\\n]|\\.)*"[ \t]*:/;
/** Hugo's JSON front matter opens an object with a key (or is empty); `{{`/`{%` templates do not. */
const JSON_OBJECT_START = /^\{[ \t\n]*["}]/;

export function parseFrontMatter(text: string): ParsedFrontMatter {
  const src = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).replace(/\r\n?/g, '\n');
  // Leading blank lines are tolerated: exporters often emit one before the opening `---`.
  const start = /^(?:[ \t]*\n)*/.exec(src)?.[0].length ?? 0;
  const firstLine = lineAt(src, start);
  const afterFirst = Math.min(src.length, start + firstLine.length + 1);

  if (YAML_OPEN.test(firstLine)) return fenced(src, 'yaml', start, afterFirst, YAML_CLOSE);
  if (TOML_OPEN.test(firstLine)) return fenced(src, 'toml', start, afterFirst, TOML_CLOSE);
  if (JSON_OPEN.test(firstLine)) return fenced(src, 'json', start, afterFirst, JSON_CLOSE);
  if (JSON_OBJECT_START.test(src.slice(start, start + 256))) return jsonObject(src, start);
  if (YAML_KEY_LINE.test(firstLine) || JSON_KEY_LINE.test(firstLine)) {
    const bare = hexoBare(src, start, firstLine);
    if (bare) return bare;
  }
  return none(src);
}

function none(src: string): ParsedFrontMatter {
  return { format: 'none', data: {}, body: src, warnings: [] };
}

function invalid(message: string): ArticleError {
  return new ArticleError('invalid_front_matter', message);
}

function tooLarge(dialect: Dialect): ArticleError {
  return invalid(
    `${LABEL[dialect]} front matter is longer than ${FRONT_MATTER_LIMITS.maxChars} characters: move long text into the body`,
  );
}

function tooDeep(dialect: Dialect): ArticleError {
  return invalid(
    `${LABEL[dialect]} front matter is nested more than ${FRONT_MATTER_LIMITS.maxDepth} levels deep: flatten it`,
  );
}

/** 1-based line and column of `offset` in `src`. */
function lineCol(src: string, offset: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = src.indexOf('\n'); i !== -1 && i < offset; i = src.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, col: offset - lineStart + 1 };
}

function lineAt(src: string, from: number): string {
  const eol = src.indexOf('\n', from);
  return src.slice(from, eol < 0 ? src.length : eol);
}

/** The first line matching `re` (a /gm regex anchored with ^…$) at or after `from`. */
function findLine(src: string, from: number, re: RegExp): { start: number; next: number; text: string } | null {
  re.lastIndex = from;
  const m = re.exec(src);
  if (!m) return null;
  const end = m.index + m[0].length;
  return { start: m.index, next: src[end] === '\n' ? end + 1 : end, text: m[0] };
}

interface Block {
  data: Record<string, unknown>;
  warnings: Warning[];
}

function fenced(src: string, dialect: Dialect, openAt: number, contentStart: number, close: RegExp): ParsedFrontMatter {
  const end = findLine(src, contentStart, close);
  if (!end) {
    // A Markdown file may well start with a `---` rule; only complain when YAML follows.
    if (dialect === 'yaml' && !YAML_KEY_LINE.test(lineAt(src, contentStart))) return none(src);
    const fence = lineAt(src, openAt).trim();
    throw invalid(
      `${LABEL[dialect]} front matter opened on line ${lineCol(src, openAt).line} is never closed: add a "${fence}" line after it`,
    );
  }
  const raw = src.slice(contentStart, end.start);
  const block = parseBlock(dialect, src, contentStart, raw);
  return { format: dialect, data: block.data, body: src.slice(end.next), warnings: block.warnings };
}

function parseBlock(dialect: Dialect, src: string, rawStart: number, raw: string): Block {
  if (raw.length > FRONT_MATTER_LIMITS.maxChars) throw tooLarge(dialect);
  if (dialect === 'yaml') return parseYaml(src, rawStart, raw);
  if (dialect === 'toml') return parseTomlBlock(src, rawStart, raw);
  // Hexo writes `;;;` JSON without braces and wraps it in `{}` itself; accept both.
  const braced = /^\s*[[{]/.test(raw);
  return parseJson(src, braced ? rawStart : rawStart - 1, braced ? raw : `{${raw}}`);
}

/** Hexo's forms without an opening fence: `key: value` lines (or JSON properties) closed by `---` / `;;;`. */
function hexoBare(src: string, start: number, firstLine: string): ParsedFrontMatter | null {
  const end = findLine(src, start, BARE_CLOSE);
  if (!end) return null;
  const raw = src.slice(start, end.start);
  const body = src.slice(end.next);
  if (end.text.startsWith(';')) {
    if (!JSON_KEY_LINE.test(firstLine)) return null;
    const block = parseBlock('json', src, start, raw);
    return { format: 'json', data: block.data, body, warnings: block.warnings };
  }
  if (!YAML_KEY_LINE.test(firstLine) || raw.length > FRONT_MATTER_LIMITS.maxChars) return null;
  // Without an opening fence, `Note: …` prose above a `---` rule looks the same at first:
  // only a block that parses as a YAML mapping is front matter.
  try {
    const block = parseYaml(src, start, raw);
    return { format: 'yaml', data: block.data, body, warnings: block.warnings };
  } catch (err) {
    if (err instanceof ArticleError) return null;
    throw err;
  }
}

/** Hugo's JSON front matter: the object at the top, up to its matching brace. */
function jsonObject(src: string, start: number): ParsedFrontMatter {
  let depth = 0;
  let inString = false;
  let end = -1;
  const limit = Math.min(src.length, start + FRONT_MATTER_LIMITS.maxChars + 1);
  for (let i = start; i < limit && end < 0; i++) {
    const c = src[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if ((c === '}' || c === ']') && --depth === 0) end = i;
  }
  if (end < 0) {
    if (limit < src.length) throw tooLarge('json');
    throw invalid(
      `JSON front matter starting on line ${lineCol(src, start).line} has no matching closing "}"`,
    );
  }
  const block = parseJson(src, start, src.slice(start, end + 1));
  const rest = /^[ \t]*\n?/.exec(src.slice(end + 1))?.[0].length ?? 0;
  return { format: 'json', data: block.data, body: src.slice(end + 1 + rest), warnings: [] };
}

/** `textStart`: offset in `src` of `json`'s first character (for error positions). */
function parseJson(src: string, textStart: number, json: string): Block {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    const message = errorMessage(err);
    const pos = /at position (\d+)/.exec(message);
    const detail = message
      .replace(/\s*in JSON at position \d+(?: \(line \d+ column \d+\))?/, '')
      .replace(/\s+/g, ' ')
      .slice(0, 200);
    if (pos) {
      const offset = Math.min(Math.max(0, textStart + Number(pos[1])), src.length);
      const { line, col } = lineCol(src, offset);
      throw invalid(`JSON front matter, line ${line} column ${col}: ${detail}`);
    }
    throw invalid(`JSON front matter starting on line ${lineCol(src, Math.max(0, textStart)).line}: ${detail}`);
  }
  if (!isPlainObject(value)) {
    throw invalid(`JSON front matter must be an object of "key": value pairs, but it is ${describe(value)}`);
  }
  return { data: toPlainData(value, 'json'), warnings: [] };
}

function parseTomlBlock(src: string, rawStart: number, raw: string): Block {
  let value: unknown;
  try {
    value = parseToml(raw, { maxDepth: FRONT_MATTER_LIMITS.maxDepth, integersAsBigInt: 'asNeeded' });
  } catch (err) {
    if (err instanceof TomlError) {
      const line = lineCol(src, rawStart).line + err.line - 1;
      const detail = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
      throw invalid(`TOML front matter, line ${line} column ${err.column}: ${detail}`);
    }
    if (err instanceof RangeError) throw tooDeep('toml');
    throw invalid(`TOML front matter could not be read: ${errorMessage(err)}`);
  }
  return { data: toPlainData(value, 'toml'), warnings: [] };
}

const YAML_HINTS: Partial<Record<string, string>> = {
  BLOCK_AS_IMPLICIT_KEY: 'quote a value that contains ": " or starts with [ { * & ! | > \' " % @',
  MULTILINE_IMPLICIT_KEY: 'quote a value that contains ": " or starts with [ { * & ! | > \' " % @',
  BAD_INDENT: 'check the indentation of this line',
  TAB_AS_INDENT: 'indent with spaces',
  MISSING_CHAR: 'close the quote or bracket',
};

function parseYaml(src: string, rawStart: number, raw: string): Block {
  // Hexo turns leading tabs into two spaces each before parsing; YAML forbids tab indents.
  const expanded = raw.replace(/^\t+/gm, (tabs) => '  '.repeat(tabs.length));
  const rawLines = raw.split('\n');
  const firstLine = lineCol(src, rawStart).line;
  const position = (offset: number) => {
    // An error "at the end" (unclosed quote) belongs to the last line, not the closing fence.
    const at = lineCol(expanded, Math.min(offset, Math.max(0, expanded.replace(/\n+$/, '').length)));
    const tabs = /^\t*/.exec(rawLines[at.line - 1] ?? '')?.[0].length ?? 0;
    const col = at.col <= 2 * tabs ? Math.ceil(at.col / 2) : at.col - tabs;
    return { line: firstLine + at.line - 1, col };
  };

  let doc;
  try {
    doc = parseDocument(expanded, {
      schema: 'core',
      uniqueKeys: false,
      merge: true,
      prettyErrors: false,
      logLevel: 'silent',
    });
  } catch (err) {
    if (err instanceof RangeError) throw tooDeep('yaml');
    throw invalid(`YAML front matter could not be read: ${errorMessage(err)}`);
  }
  const error = doc.errors[0];
  if (error) {
    if (error.code === 'RESOURCE_EXHAUSTION') throw tooDeep('yaml');
    const { line, col } = position(error.pos[0]);
    const hint = YAML_HINTS[error.code];
    throw invalid(`YAML front matter, line ${line} column ${col}: ${error.message}${hint ? ` (${hint})` : ''}`);
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    const kind = isSeq(doc.contents) ? 'a list' : 'a single value';
    throw invalid(`YAML front matter must be "key: value" lines, but it is ${kind}`);
  }

  const warnings: Warning[] = [];
  for (const w of doc.warnings) {
    const { line } = position(w.pos[0]);
    warnings.push(
      w.code === 'TAG_RESOLVE_FAILED'
        ? { code: 'front_matter_unknown_tag', message: `YAML front matter, line ${line}: ${w.message}; the value is kept as text` }
        : { code: 'front_matter_warning', message: `YAML front matter, line ${line}: ${w.message}` },
    );
  }
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key) && key !== '<<') {
          const line = pair.key.range ? `line ${position(pair.key.range[0]).line}` : 'again';
          warnings.push({
            code: 'duplicate_front_matter_key',
            message: `front matter key "${key}" is repeated (${line}); the last value is used`,
          });
        }
        seen.add(key);
      }
    },
  });

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: FRONT_MATTER_LIMITS.maxAliasCount });
  } catch (err) {
    if (err instanceof ReferenceError && /alias/i.test(err.message)) {
      throw invalid(
        `YAML front matter expands aliases (*name) more than ${FRONT_MATTER_LIMITS.maxAliasCount} times: write the values out instead`,
      );
    }
    if (err instanceof RangeError) throw tooDeep('yaml');
    throw invalid(`YAML front matter could not be read: ${errorMessage(err)}`);
  }
  return { data: value == null ? {} : toPlainData(value, 'yaml'), warnings };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (Array.isArray(v)) return 'a list';
  return v === null ? 'null' : 'a single value';
}

/**
 * A bounded, acyclic, JSON-compatible copy: shared alias nodes are copied (and counted),
 * dates become text, binary and non-finite numbers become null, `__proto__` stays a key.
 */
function toPlainData(root: unknown, dialect: Dialect): Record<string, unknown> {
  let count = 0;
  const ancestors = new Set<object>();
  const walk = (v: unknown, depth: number): unknown => {
    if (++count > FRONT_MATTER_LIMITS.maxValues) {
      throw invalid(`${LABEL[dialect]} front matter has more than ${FRONT_MATTER_LIMITS.maxValues} values`);
    }
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        return Number.isFinite(v) ? v : null;
      case 'bigint':
        return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
      case 'object':
        break;
      default:
        return null;
    }
    if (v === null) return null;
    // TOML dates: toISOString() keeps local dates local (`1979-05-27T07:32:00.000`).
    if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
    if (ArrayBuffer.isView(v)) return null;
    if (depth >= FRONT_MATTER_LIMITS.maxDepth) throw tooDeep(dialect);
    if (ancestors.has(v)) throw invalid(`${LABEL[dialect]} front matter refers to itself (a recursive alias)`);
    ancestors.add(v);
    try {
      if (Array.isArray(v)) return v.map((item) => walk(item, depth + 1));
      const entries: [string, unknown][] =
        v instanceof Map ? [...v.entries()].map(([k, x]) => [String(k), x]) : Object.entries(v);
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) {
        // defineProperty: a `__proto__` key must stay data, not replace the prototype.
        Object.defineProperty(out, key, { value: walk(item, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return out;
    } finally {
      ancestors.delete(v);
    }
  };
  return walk(root, 0) as Record<string, unknown>;
}
