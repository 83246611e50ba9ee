/**
 * The search index over any SqlDriver (PGlite, the Data API): the SQL is the same for both.
 * One row per article id. A public article's row holds its summary, its text (for snippets)
 * and a tsvector: title weight A, categories/tags/authors B, excerpt C, body D. Any other
 * state (draft, failed, deleted, scheduled) leaves a tombstone: the id, the sequencer, no
 * text. Every write is conditional on the sequencer, so an older event arriving late (a
 * retried upsert after a delete) can never bring back what a newer one removed.
 */
import { summaryFields } from '../bounds';
import type { ArticleRecord, SqlDriver, SqlValue } from '../../ports';
import type { ArticleSummary } from '../types';
import { SEARCH_TABLE } from './migrations';
import { makeSnippet } from './snippet';
import { foldText, locatePattern, parseQuery, TsVectorBuilder } from './tokenize';

/** Bounds on what one row holds, so every tsvector position stays under PostgreSQL's 16,383. */
export const SEARCH_LIMITS = { titleChars: 500, metaChars: 1_000, excerptChars: 1_000, bodyChars: 12_000 } as const;

export type SearchFacet = 'category' | 'tag' | 'author';

export interface SearchQuery {
  q: string;
  facet?: { name: SearchFacet; value: string };
  /** Inclusive ISO bounds on the sort date. */
  from?: string;
  to?: string;
  limit: number;
  offset: number;
  /** `relevance` (default): best match first, then newest. `newest`: newest first (feeds), unscored. */
  order?: 'relevance' | 'newest';
}

export type SearchHit = ArticleSummary & { score: number; snippet: string };

export interface SearchPage {
  items: SearchHit[];
  /** True when another page follows. */
  more: boolean;
}

/** What one indexed article costs: for the benchmark and the logs. */
export interface RowStats {
  tsvectorChars: number;
  docChars: number;
  truncated: boolean;
}

/** Only these articles are searchable; everything else is a tombstone. */
export function isSearchable(record: ArticleRecord | null): record is ArticleRecord {
  return record !== null && record.status === 'published';
}

const cut = (s: string, n: number) => {
  const chars = [...s.normalize('NFC')];
  return chars.length > n ? chars.slice(0, n).join('') : chars.join('');
};
const lower = (values: string[]) => JSON.stringify([...new Set(values.map((v) => v.normalize('NFC').toLowerCase()))]);

/** The row values of a searchable article. */
export function searchRow(record: ArticleRecord, bodyText: string) {
  const title = cut(record.title, SEARCH_LIMITS.titleChars);
  const meta = cut([...record.categories, ...record.tags, ...record.authors].join(' · '), SEARCH_LIMITS.metaChars);
  const excerpt = cut(record.excerpt, SEARCH_LIMITS.excerptChars);
  const body = cut(bodyText, SEARCH_LIMITS.bodyChars);
  const tsv = new TsVectorBuilder();
  tsv.add(title, 'A');
  tsv.add(meta, 'B');
  tsv.add(excerpt, 'C');
  tsv.add(body, 'D');
  // Snippets come from the text in reading order after the title (shown beside it anyway).
  const doc = [body, excerpt, title, meta].filter(Boolean).join('\n');
  const tsvText = tsv.toString();
  const row = {
    id: record.id,
    sortDate: record.sortDate,
    categories: lower(record.categories),
    tags: lower(record.tags),
    authors: lower(record.authors),
    summary: JSON.stringify(summaryFields(record)),
    doc,
    docFolded: foldText(doc),
    tsv: tsvText,
  };
  const stats: RowStats = { tsvectorChars: tsvText.length, docChars: doc.length, truncated: tsv.truncated };
  return { row, stats };
}

/** The sequencer check: normalized sequencers compare as (length, text), like numbers. */
const NOT_NEWER = `(length(s.seq), s.seq) <= (length(excluded.seq), excluded.seq COLLATE "C")`;

const UPSERT = `INSERT INTO ${SEARCH_TABLE} AS s (id, seq, live, sort_date, categories, tags, authors, summary, doc, doc_folded, tsv)
VALUES (:id, :seq, true, :sortDate::timestamptz,
  ARRAY(SELECT jsonb_array_elements_text(:categories::jsonb)),
  ARRAY(SELECT jsonb_array_elements_text(:tags::jsonb)),
  ARRAY(SELECT jsonb_array_elements_text(:authors::jsonb)),
  :summary, :doc, :docFolded, :tsv::tsvector)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, live = true, sort_date = excluded.sort_date,
  categories = excluded.categories, tags = excluded.tags, authors = excluded.authors,
  summary = excluded.summary, doc = excluded.doc, doc_folded = excluded.doc_folded, tsv = excluded.tsv
WHERE ${NOT_NEWER}`;

const TOMBSTONE = `INSERT INTO ${SEARCH_TABLE} AS s (id, seq, live) VALUES (:id, :seq, false)
ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, live = false, sort_date = NULL,
  categories = '{}', tags = '{}', authors = '{}', summary = NULL, doc = NULL, doc_folded = NULL, tsv = NULL
WHERE ${NOT_NEWER}`;

/** Characters of text around the first match sent back for the snippet (it keeps 200). */
const WINDOW = 400;
const WINDOW_LEAD = 150;

export class SearchIndex {
  constructor(private readonly db: SqlDriver) {}

  /** Writes the article's row at `sequencer`; false when a newer event already wrote it. */
  async upsert(record: ArticleRecord, sequencer: string, bodyText: string): Promise<{ applied: boolean; stats: RowStats }> {
    const { row, stats } = searchRow(record, bodyText);
    const res = await this.db.query(UPSERT, { ...row, seq: sequencer });
    return { applied: res.rowCount > 0, stats };
  }

  /** Leaves a tombstone at `sequencer`; false when a newer event already wrote the row. */
  async remove(id: string, sequencer: string): Promise<boolean> {
    const res = await this.db.query(TOMBSTONE, { id, seq: sequencer });
    return res.rowCount > 0;
  }

  async search(query: SearchQuery): Promise<SearchPage> {
    const parsed = parseQuery(query.q);
    if (!parsed.tsquery) return { items: [], more: false };
    const params: Record<string, SqlValue> = {
      q: parsed.tsquery,
      pattern: locatePattern(parsed),
      limit: query.limit + 1,
      offset: query.offset,
    };
    const where = ['s.live', 's.tsv @@ qq.q'];
    if (query.facet) {
      const column = { category: 'categories', tag: 'tags', author: 'authors' }[query.facet.name];
      where.push(`:facet = ANY(s.${column})`);
      params.facet = query.facet.value.normalize('NFC').toLowerCase();
    }
    if (query.from) {
      where.push('s.sort_date >= :from::timestamptz');
      params.from = query.from;
    }
    if (query.to) {
      where.push('s.sort_date <= :to::timestamptz');
      params.to = query.to;
    }
    // Rank: cover density (normalized into [0,1)), plus 1 when the title alone matches, so a
    // title match always ranks above a body-only one; then newest first. Newest-first needs
    // no rank, and skips its cost (every match's tsvector read).
    const newest = query.order === 'newest';
    const score = newest ? '0::float8' : `(ts_rank_cd(s.tsv, qq.q, 32) + CASE WHEN ts_filter(s.tsv, '{a}') @@ qq.q THEN 1 ELSE 0 END)::float8`;
    const sql = `WITH hits AS (
  SELECT s.id, s.summary, s.doc, s.doc_folded, s.sort_date, ${score} AS score
  FROM ${SEARCH_TABLE} s, (SELECT :q::tsquery AS q) qq
  WHERE ${where.join(' AND ')}
  ORDER BY ${newest ? '' : 'score DESC, '}s.sort_date DESC NULLS LAST, s.id
  LIMIT :limit OFFSET :offset
), located AS (
  SELECT h.*, greatest(regexp_instr(h.doc_folded, :pattern) - ${WINDOW_LEAD}, 1) AS w FROM hits h
)
SELECT id, summary, score, substr(doc, w, ${WINDOW}) AS win, substr(doc_folded, w, ${WINDOW}) AS win_folded
FROM located ORDER BY score DESC, sort_date DESC NULLS LAST, id`;
    const { rows } = await this.db.query<{ id: string; summary: string; score: number; win: string | null; win_folded: string | null }>(sql, params);
    const items = rows.slice(0, query.limit).map((r) => ({
      ...(JSON.parse(r.summary) as ArticleSummary),
      score: Math.round(Number(r.score) * 1e6) / 1e6,
      snippet: makeSnippet(r.win ?? '', parsed.terms, r.win_folded ?? undefined),
    }));
    return { items, more: rows.length > query.limit };
  }

  /** Rows and tombstones: for the reindex tool and the benchmark. */
  async stats(): Promise<{ live: number; tombstones: number }> {
    const { rows } = await this.db.query<{ live: number; tombstones: number }>(
      `SELECT count(*) FILTER (WHERE live)::int AS live, count(*) FILTER (WHERE NOT live)::int AS tombstones FROM ${SEARCH_TABLE}`,
    );
    return { live: Number(rows[0]?.live ?? 0), tombstones: Number(rows[0]?.tombstones ?? 0) };
  }
}
