/**
 * Search on PGlite (the same SQL as Aurora): query latency at 1k and at 100k articles in
 * one run (searchLatencyRatio100kTo1k), and what indexing one article costs (ms, bytes).
 * Articles are synthetic Chinese (a 2,000-character pool) with some English words; queries
 * are 2-4 character substrings of random articles, as a reader would type a name.
 * Rows are built by the real searchRow() and bulk-inserted 1,000 at a time.
 */
import { createPgliteDriver } from '../functions/adapters/pglite-driver';
import { SearchIndex, searchRow } from '../functions/core/search/index';
import { MIGRATIONS, migrate, SEARCH_TABLE } from '../functions/core/search/migrations';
import type { ArticleRecord } from '../functions/ports';
import { seededRandom } from '../local/seeded-random';
import { median, percentile, round } from './lib/stats';

const POOL = Array.from({ length: 2000 }, (_, i) => String.fromCodePoint(0x4e00 + i * 7));
const WORDS = ['harbour', 'market', 'election', 'weather', 'football', 'science', 'energy', 'policy', 'music', 'travel'];

function article(i: number, rnd: () => number): { record: ArticleRecord; body: string } {
  const pick = () => POOL[Math.floor(rnd() * POOL.length)]!;
  const run = (n: number) => Array.from({ length: n }, pick).join('');
  const body = Array.from({ length: 6 }, () => `${run(20 + Math.floor(rnd() * 10))}，${WORDS[Math.floor(rnd() * WORDS.length)]} `).join('');
  const date = new Date(Date.UTC(2020, 0, 1) + i * 60_000).toISOString();
  const record = {
    id: `a${i}`, slug: `a${i}`, title: run(12), date, updated: null, author: '作者', authors: ['作者'], categories: ['新闻'], tags: [run(2)],
    excerpt: run(40), cover: null, wordCount: 200, readingMinutes: 1, imageCount: 0, sourceKey: `a${i}.md`, status: 'published',
    warnings: [], error: null, processedAt: date, images: [], frontMatter: {}, bodyKey: null, sourceEtag: null, contentHash: null,
    pipelineVersion: 1, sortDate: date,
  } satisfies ArticleRecord;
  return { record, body };
}

const INSERT = `INSERT INTO ${SEARCH_TABLE} (id, seq, live, sort_date, categories, tags, authors, summary, doc, doc_folded, tsv)
SELECT r.id, r.seq, true, r.sort_date::timestamptz, ARRAY(SELECT jsonb_array_elements_text(r.categories)), ARRAY(SELECT jsonb_array_elements_text(r.tags)),
  ARRAY(SELECT jsonb_array_elements_text(r.authors)), r.summary, r.doc, r.doc_folded, r.tsv::tsvector
FROM jsonb_to_recordset(:rows::jsonb) AS r(id text, seq text, sort_date text, categories jsonb, tags jsonb, authors jsonb, summary text, doc text, doc_folded text, tsv text)`;

export async function searchBenchmark(opts: { small: number; large: number; queries: number }, log: (s: string) => void) {
  const db = await createPgliteDriver();
  await migrate(db);
  const index = new SearchIndex(db);
  const rnd = seededRandom(16);
  const bodies: string[] = [];
  let n = 0;

  async function fill(to: number) {
    const started = performance.now();
    while (n < to) {
      const batch = [];
      for (let k = 0; k < 1000 && n < to; k++, n++) {
        const { record, body } = article(n, rnd);
        bodies.push(body);
        const { row } = searchRow(record, body);
        batch.push({ ...row, seq: String(n).padStart(32, '0'), sort_date: row.sortDate, doc_folded: row.docFolded, categories: JSON.parse(row.categories), tags: JSON.parse(row.tags), authors: JSON.parse(row.authors) });
      }
      await db.query(INSERT, { rows: JSON.stringify(batch) });
    }
    return performance.now() - started;
  }

  async function latency(size: number) {
    const q = seededRandom(size);
    const times: number[] = [];
    const hits: number[] = [];
    for (let i = 0; i < opts.queries + 5; i++) {
      const body = bodies[Math.floor(q() * size)]!;
      const chars = [...body.replace(/[^\u4e00-\u9fff]/g, '')];
      const len = 2 + Math.floor(q() * 3);
      const at = Math.floor(q() * (chars.length - len));
      const query = chars.slice(at, at + len).join('');
      const t = performance.now();
      const page = await index.search({ q: query, limit: 20, offset: 0 });
      if (i >= 5) {
        times.push(performance.now() - t);
        hits.push(page.items.length);
      }
    }
    const common: number[] = [];
    for (const w of WORDS.slice(0, 5)) {
      const t = performance.now();
      await index.search({ q: w, limit: 20, offset: 0 });
      common.push(performance.now() - t);
    }
    return { p50Ms: round(median(times), 2), p95Ms: round(percentile(times, 95), 2), medianHits: median(hits), commonWordP50Ms: round(median(common), 1) };
  }

  // Index-write cost: one article at a time through SearchIndex.upsert, as ingest does it.
  const writes: number[] = [];
  for (let i = 0; i < 200; i++) {
    const { record, body } = article(1_000_000 + i, rnd);
    const t = performance.now();
    await index.upsert(record, String(i).padStart(32, '0'), body);
    writes.push(performance.now() - t);
  }
  await db.query(`DELETE FROM ${SEARCH_TABLE}`);

  log(`search: ${opts.small} articles`);
  await fill(opts.small);
  // Both sizes measured with fresh planner statistics, or the 1k side may plan a sequential scan.
  await db.query(`VACUUM ANALYZE ${SEARCH_TABLE}`);
  const small = await latency(opts.small);
  log(`search: filling to ${opts.large} articles`);
  // A bulk load builds the GIN index once at the end (row-by-row GIN maintenance in
  // WebAssembly is many times slower), as a reindex into an empty table would.
  await db.query(`DROP INDEX ${SEARCH_TABLE}_tsv`);
  const fillMs = await fill(opts.large);
  const indexStarted = performance.now();
  await db.query(MIGRATIONS[0]!.statements[1]!);
  const ginBuildMs = performance.now() - indexStarted;
  await db.query(`VACUUM ANALYZE ${SEARCH_TABLE}`);
  const large = await latency(opts.large);
  const size = (await db.query<{ total: number; tsv: number; heap: number }>(
    `SELECT pg_total_relation_size('${SEARCH_TABLE}')::float8 AS total, avg(pg_column_size(tsv))::float8 AS tsv, pg_relation_size('${SEARCH_TABLE}')::float8 AS heap FROM ${SEARCH_TABLE}`,
  )).rows[0]!;
  const gin = (await db.query<{ b: number }>(`SELECT pg_relation_size('${SEARCH_TABLE}_tsv')::float8 AS b`)).rows[0]!.b;
  await db.close();
  return {
    searchLatencyRatio100kTo1k: round(large.p50Ms / small.p50Ms, 2),
    searchWriteMsPerArticle: round(median(writes), 2),
    searchBytesPerArticle: Math.round(size.total / opts.large),
    extra: {
      small: { articles: opts.small, ...small },
      large: { articles: opts.large, ...large },
      bulkInsertArticlesPerSecond: Math.round(((opts.large - opts.small) / fillMs) * 1000),
      ginBuildSeconds: round(ginBuildMs / 1000, 1),
      writeP95Ms: round(percentile(writes, 95), 2),
      bytes: { totalPerArticle: Math.round(size.total / opts.large), tsvectorAvg: Math.round(size.tsv), ginIndexPerArticle: Math.round(gin / opts.large), heapPerArticle: Math.round(size.heap / opts.large) },
      articleShape: 'title 12 Han chars, excerpt 40, body 6 × (20-29 Han chars + 1 English word) ≈ 160 Han chars',
    },
  };
}
