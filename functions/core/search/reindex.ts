/**
 * A full rebuild of the search index from the article table: for schema changes and
 * disaster recovery (`npm run reindex`, locally or against AWS). Safe while ingest runs:
 * every row is written at the sequencer the table holds, so a newer event written in the
 * meantime is never replaced, and a row is only retired after the table confirms the
 * article is gone.
 */
import type { ArticleReader, ArticleWriter, SearchFeed, SqlDriver } from '../../ports';
import type { ArticleStatus } from '../types';
import { SearchIndex } from './index';
import { migrate, SEARCH_TABLE } from './migrations';

export interface ReindexDeps {
  articles: ArticleReader;
  states: Pick<ArticleWriter, 'getState'>;
  feed: SearchFeed;
  db: SqlDriver;
  onProgress?: (done: number) => void;
}

export interface ReindexResult {
  migrated: number[];
  searchable: number;
  hidden: number;
  retired: number;
}

const STATUSES: ArticleStatus[] = ['published', 'draft', 'failed'];

export async function reindex(deps: ReindexDeps): Promise<ReindexResult> {
  const migrated = await migrate(deps.db);
  const seen = new Set<string>();
  const result: ReindexResult = { migrated, searchable: 0, hidden: 0, retired: 0 };
  for (const status of STATUSES) {
    let after: Record<string, string> | undefined;
    do {
      const page = await deps.articles.list({ status, limit: 100, after });
      for (const item of page.items) {
        const state = await deps.states.getState(item.id);
        if (!state || seen.has(item.id)) continue;
        seen.add(item.id);
        if (status === 'published') {
          await deps.feed.refresh(item.id, state.sequencer);
          result.searchable++;
        } else {
          await deps.feed.apply({ id: item.id, sequencer: state.sequencer, record: null });
          result.hidden++;
        }
        deps.onProgress?.(seen.size);
      }
      after = page.next ?? undefined;
    } while (after);
  }
  // Rows of articles the table no longer lists: retired once the table confirms it.
  const index = new SearchIndex(deps.db);
  let last = '';
  for (;;) {
    const { rows } = await deps.db.query<{ id: string; seq: string }>(
      `SELECT id, seq FROM ${SEARCH_TABLE} WHERE live AND id > :last ORDER BY id LIMIT 500`,
      { last },
    );
    for (const row of rows) {
      if (seen.has(row.id)) continue;
      const state = await deps.states.getState(row.id);
      if (state && !state.deleted && state.status === 'published') continue;
      if (await index.remove(row.id, state?.sequencer ?? row.seq)) result.retired++;
    }
    if (rows.length < 500) break;
    last = rows[rows.length - 1]!.id;
  }
  return result;
}
