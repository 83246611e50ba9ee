/**
 * Feeds the search index from the ingest path: every state change of an article, right
 * after its write to the article index, upserts the search row (published) or leaves a
 * tombstone (anything else). docs/search.md explains why here and not a table stream.
 */
import type { ArticleReader, Logger, SearchChange, SearchFeed } from '../../ports';
import { htmlToText } from '../text';
import { isSearchable, type SearchIndex } from './index';

export interface SearchFeedDeps {
  index: SearchIndex;
  /** Reads the stored article (refresh). */
  reader: Pick<ArticleReader, 'get'>;
  /** Reads a processed body from the media bucket. */
  readBody(key: string): Promise<string | null>;
  log?: Logger;
}

export function createSearchFeed(deps: SearchFeedDeps): SearchFeed {
  async function apply(change: SearchChange): Promise<void> {
    const { record } = change;
    if (!isSearchable(record)) {
      await deps.index.remove(change.id, change.sequencer);
      return;
    }
    const html = change.html ?? (record.bodyKey ? await deps.readBody(record.bodyKey) : null) ?? '';
    const { stats } = await deps.index.upsert(record, change.sequencer, htmlToText(html));
    if (stats.truncated) deps.log?.warn('search index holds only the start of this article', { id: record.id, code: 'search_text_truncated' });
  }
  return {
    apply,
    async refresh(id, sequencer) {
      await apply({ id, sequencer, record: await deps.reader.get(id) });
    },
  };
}
