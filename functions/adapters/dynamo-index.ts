/**
 * The article index on one DynamoDB table (key schema: definitions.TABLE).
 *
 * Items
 *   Article   pk=A#<id>  sk=A                 the ArticleRecord, `seq` (newest applied
 *                                              event), `complete`, or a tombstone (`deleted`);
 *                                              `supersededBodyKeys` until they are deleted
 *   Listing   pk=A#<id>  sk=L#<facet>#<key>   one per way the article is listed; carries a
 *                                              copy of the summary, so a page is one query
 *             gsi1pk=<status>#<facet>#<key>  gsi1sk=<sortDate>#<id>
 *             (the newest-first list is facet `all` with an empty key: gsi1pk=<status>#all#)
 *   Count     pk=C#<facet> sk=<key>          `n` published articles listed under it, `name`
 *
 * Access patterns, each one query:
 *   by id                      GetItem A#<id>/A
 *   newest first (per status)  Query gsi1 gsi1pk=<status>#all#, descending
 *   by category|tag|author|slug (+ date range, per status)
 *                              Query gsi1 gsi1pk=<status>#<facet>#<key>, gsi1sk BETWEEN
 *   counts per facet           Query pk=C#<facet>
 *   body keys of a feed's page BatchGetItem A#<id>/A (id, bodyKey only)
 *   links of every published   Query gsi1 gsi1pk=published#all#, descending, summary's
 *   article (sitemap)          id/slug/date/updated only, following LastEvaluatedKey
 *
 * Exact counts: every listing put/delete that changes whether a published article is listed
 * under a value is written in the same transaction as the matching count update, with a
 * condition on the listing item's previous state, and a condition check that the article
 * item still belongs to this event. So the counts always equal the number of published
 * listing items, whatever the order, duplication or interleaving of events.
 *
 * No orphaned bodies: which bodies an event replaces is written into the article item in
 * the same write that replaces them (`supersededBodyKeys`, read first and guarded by the
 * sequencer read), handed to the caller to delete, and cleared only when the item is marked
 * complete. So a lost answer, a crash or a retried event never loses track of one.
 */
import {
  BatchGetCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { StaleEventError } from '../core/errors';
import { compareSequencers } from '../core/events';
import type { ArticleSummary } from '../core/types';
import type {
  ArticleReader,
  ArticleRecord,
  ArticleWriter,
  CountedFacet,
  Facet,
  IndexState,
  LinkPage,
  ListPage,
  ListQuery,
  WriteOptions,
} from '../ports';

type Item = Record<string, unknown>;
type TxItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

const GSI = 'gsi1';
const MAX_TX_ITEMS = 100;
const TOMBSTONE_TTL_SECONDS = 90 * 24 * 3600;
const COUNTED: ReadonlySet<string> = new Set<CountedFacet>(['category', 'tag', 'author']);

export const articlePk = (id: string) => `A#${id}`;
const ARTICLE_SK = 'A';
const LISTING_PREFIX = 'L#';

/** Case- and form-insensitive key for a facet value, so `Go`, `go` and ` go ` list together. */
export function facetKey(value: string): string {
  return value.normalize('NFC').trim().toLowerCase();
}

interface Listing {
  sk: string;
  facet: Facet | 'all';
  key: string;
  name: string;
}

function listingsOf(r: ArticleRecord): Listing[] {
  const out = new Map<string, Listing>();
  const add = (facet: Facet | 'all', name: string) => {
    const key = facet === 'all' ? '' : facetKey(name);
    if (facet !== 'all' && !key) return;
    const sk = `${LISTING_PREFIX}${facet}#${key}`;
    if (!out.has(sk)) out.set(sk, { sk, facet, key, name });
  };
  add('all', '');
  for (const c of r.categories) add('category', c);
  for (const t of r.tags) add('tag', t);
  for (const a of r.authors) add('author', a);
  if (r.slug) add('slug', r.slug);
  return [...out.values()];
}

export function summaryOf(r: ArticleRecord): ArticleSummary {
  return {
    id: r.id,
    slug: r.slug,
    title: r.title,
    date: r.date,
    updated: r.updated,
    author: r.author,
    authors: r.authors,
    categories: r.categories,
    tags: r.tags,
    excerpt: r.excerpt,
    cover: r.cover,
    wordCount: r.wordCount,
    readingMinutes: r.readingMinutes,
    imageCount: r.imageCount,
    sourceKey: r.sourceKey,
    status: r.status,
    warnings: r.warnings,
    error: r.error,
    processedAt: r.processedAt,
  };
}

const isCounted = (facet: string, status: unknown) => COUNTED.has(facet) && status === 'published';

function isConditionFailure(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException';
}

/** Which items of a cancelled transaction failed their condition (indexes into TransactItems). */
function failedConditions(err: unknown): number[] {
  const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.flatMap((r, i) => (r?.Code === 'ConditionalCheckFailed' ? [i] : []));
}

export class DynamoArticleIndex implements ArticleWriter, ArticleReader {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  // ------------------------------------------------------------------ writes

  async getState(id: string): Promise<IndexState | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: articlePk(id), sk: ARTICLE_SK },
        ConsistentRead: true,
        ProjectionExpression: 'id, seq, deleted, sourceEtag, contentHash, pipelineVersion, bodyKey, #s, complete, imageWarnings',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    );
    const it = res.Item;
    if (!it) return null;
    return {
      id,
      sequencer: String(it.seq),
      deleted: it.deleted === true,
      sourceEtag: (it.sourceEtag as string | undefined) ?? null,
      contentHash: (it.contentHash as string | undefined) ?? null,
      pipelineVersion: Number(it.pipelineVersion ?? 0),
      bodyKey: (it.bodyKey as string | undefined) ?? null,
      status: (it.status as IndexState['status']) ?? null,
      complete: it.complete === true,
      imageWarnings: Number(it.imageWarnings ?? 0),
    };
  }

  async save(record: ArticleRecord, sequencer: string, opts: WriteOptions = {}): Promise<void> {
    const imageWarnings = record.warnings.filter((w) => w.code.startsWith('image_')).length;
    const item: Item = { ...record, pk: articlePk(record.id), sk: ARTICLE_SK, seq: sequencer, complete: false, imageWarnings };
    const { superseded } = await this.putArticleItem(item, sequencer, record.bodyKey);
    await this.syncListings(record.id, sequencer, listingsOf(record), summaryOf(record), record);
    if (superseded.length) await opts.releaseBodies?.(superseded);
    await this.markComplete(record.id, sequencer);
  }

  async remove(id: string, sourceKey: string, sequencer: string, opts: WriteOptions = {}): Promise<void> {
    const tombstone: Item = {
      pk: articlePk(id),
      sk: ARTICLE_SK,
      id,
      sourceKey,
      seq: sequencer,
      deleted: true,
      complete: false,
      // Kept long enough to reject late, older events for the key; then DynamoDB expires it.
      expiresAt: Math.floor(Date.now() / 1000) + TOMBSTONE_TTL_SECONDS,
    };
    const { superseded } = await this.putArticleItem(tombstone, sequencer, null);
    await this.syncListings(id, sequencer, [], null, null);
    if (superseded.length) await opts.releaseBodies?.(superseded);
    await this.markComplete(id, sequencer);
  }

  async touch(id: string, sequencer: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: articlePk(id), sk: ARTICLE_SK },
          UpdateExpression: 'SET seq = :seq',
          ConditionExpression: 'attribute_exists(pk) AND seq <= :seq',
          ExpressionAttributeValues: { ':seq': sequencer },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new StaleEventError();
      throw err;
    }
  }

  /**
   * Writes the article item if no newer event owns it (same sequencer: a redelivery, allowed),
   * carrying the bodies it replaces. Read first and written on condition that nothing changed
   * since: the answer to the write may be lost (the SDK then retries it), so what it replaced
   * is never learned from the answer.
   */
  private async putArticleItem(item: Item, sequencer: string, keepBodyKey: string | null): Promise<{ superseded: string[] }> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.db.send(
        new GetCommand({
          TableName: this.table,
          Key: { pk: item.pk, sk: ARTICLE_SK },
          ConsistentRead: true,
          ProjectionExpression: 'seq, bodyKey, supersededBodyKeys',
        }),
      );
      const cur = res.Item;
      if (cur && compareSequencers(String(cur.seq), sequencer) > 0) throw new StaleEventError();
      const previousBodyKey = typeof cur?.bodyKey === 'string' ? cur.bodyKey : null;
      const carried = Array.isArray(cur?.supersededBodyKeys) ? (cur.supersededBodyKeys as unknown[]) : [];
      const superseded = [...new Set([...carried, previousBodyKey])].filter(
        (k): k is string => typeof k === 'string' && k !== keepBodyKey,
      );
      try {
        await this.db.send(
          new PutCommand({
            TableName: this.table,
            Item: superseded.length ? { ...item, supersededBodyKeys: superseded } : item,
            ...(cur
              ? { ConditionExpression: 'seq = :read', ExpressionAttributeValues: { ':read': cur.seq } }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
        return { superseded };
      } catch (err) {
        // Another write came between the read and ours (or ours, answered too late): read again.
        if (isConditionFailure(err) && attempt < 5) continue;
        throw err;
      }
    }
  }

  private async markComplete(id: string, sequencer: string): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: articlePk(id), sk: ARTICLE_SK },
          UpdateExpression: 'SET complete = :t REMOVE supersededBodyKeys',
          ConditionExpression: 'seq = :seq',
          ExpressionAttributeValues: { ':seq': sequencer, ':t': true },
        }),
      );
    } catch (err) {
      if (isConditionFailure(err)) throw new StaleEventError();
      throw err;
    }
  }

  private async currentListings(id: string): Promise<Map<string, Item>> {
    const found = new Map<string, Item>();
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :l)',
          ExpressionAttributeValues: { ':pk': articlePk(id), ':l': LISTING_PREFIX },
          ProjectionExpression: 'sk, facet, #k, #n, #s',
          ExpressionAttributeNames: { '#k': 'key', '#n': 'name', '#s': 'status' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const it of res.Items ?? []) found.set(String(it.sk), it);
      start = res.LastEvaluatedKey;
    } while (start);
    return found;
  }

  /**
   * Brings the article's listing items (and the counts they imply) to `desired`. Runs in
   * chunks of transactions; each chunk re-checks that this event still owns the article.
   * A condition race with a concurrent redelivery of the same event is retried from a
   * fresh read; a newer event taking over raises StaleEventError.
   */
  private async syncListings(
    id: string,
    sequencer: string,
    desired: Listing[],
    summary: ArticleSummary | null,
    record: ArticleRecord | null,
  ): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.currentListings(id);
      const groups: TxItem[][] = [];
      const want = new Set(desired.map((l) => l.sk));

      for (const l of desired) {
        const old = current.get(l.sk);
        const status = record!.status;
        const put: TxItem = {
          Put: {
            TableName: this.table,
            Item: {
              pk: articlePk(id),
              sk: l.sk,
              facet: l.facet,
              key: l.key,
              name: l.name,
              status,
              seq: sequencer,
              gsi1pk: `${status}#${l.facet}#${l.key}`,
              gsi1sk: `${record!.sortDate}#${id}`,
              summary,
            },
            ...(old
              ? {
                  ConditionExpression: 'attribute_exists(pk) AND #s = :old',
                  ExpressionAttributeNames: { '#s': 'status' },
                  ExpressionAttributeValues: { ':old': old.status },
                }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          },
        };
        const delta = (isCounted(l.facet, status) ? 1 : 0) - (old && isCounted(l.facet, old.status) ? 1 : 0);
        groups.push(delta ? [put, this.countUpdate(l.facet, l.key, l.name, delta)] : [put]);
      }
      for (const [sk, old] of current) {
        if (want.has(sk)) continue;
        const del: TxItem = {
          Delete: {
            TableName: this.table,
            Key: { pk: articlePk(id), sk },
            ConditionExpression: 'attribute_exists(pk) AND #s = :old',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':old': old.status },
          },
        };
        const facet = String(old.facet);
        groups.push(
          isCounted(facet, old.status)
            ? [del, this.countUpdate(facet, String(old.key), String(old.name), -1)]
            : [del],
        );
      }

      try {
        await this.writeChunks(id, sequencer, groups);
        return;
      } catch (err) {
        if (err instanceof StaleEventError) throw err;
        if (isConditionFailure(err) && attempt < 3) continue;
        throw err;
      }
    }
  }

  private countUpdate(facet: string, key: string, name: string, delta: number): TxItem {
    return {
      Update: {
        TableName: this.table,
        Key: { pk: `C#${facet}`, sk: key },
        UpdateExpression: 'SET #n = if_not_exists(#n, :name) ADD #c :d',
        ExpressionAttributeNames: { '#n': 'name', '#c': 'n' },
        ExpressionAttributeValues: { ':name': name, ':d': delta },
      },
    };
  }

  private async writeChunks(id: string, sequencer: string, groups: TxItem[][]): Promise<void> {
    const ownerCheck: TxItem = {
      ConditionCheck: {
        TableName: this.table,
        Key: { pk: articlePk(id), sk: ARTICLE_SK },
        ConditionExpression: 'seq = :seq',
        ExpressionAttributeValues: { ':seq': sequencer },
      },
    };
    let chunk: TxItem[] = [ownerCheck];
    const flush = async () => {
      if (chunk.length === 1) return;
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: chunk }));
      } catch (err) {
        if (failedConditions(err).includes(0)) throw new StaleEventError();
        throw err;
      }
      chunk = [ownerCheck];
    };
    for (const g of groups) {
      if (chunk.length + g.length > MAX_TX_ITEMS) await flush();
      chunk.push(...g);
    }
    await flush();
  }

  // ------------------------------------------------------------------ reads

  async get(id: string): Promise<ArticleRecord | null> {
    const res = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: articlePk(id), sk: ARTICLE_SK } }));
    const it = res.Item;
    if (!it || it.deleted === true) return null;
    const { pk: _pk, sk: _sk, seq: _seq, complete: _c, ...rest } = it;
    return rest as unknown as ArticleRecord;
  }

  async list(q: ListQuery): Promise<ListPage> {
    const facet = q.facet ? `${q.facet.name}#${facetKey(q.facet.value)}` : 'all#';
    const names: Record<string, string> = { '#pk': 'gsi1pk' };
    const values: Record<string, unknown> = { ':pk': `${q.status}#${facet}` };
    let cond = '#pk = :pk';
    if (q.from || q.to) {
      names['#sk'] = 'gsi1sk';
      values[':from'] = q.from ?? '';
      // `#` sorts after every ISO character used, `\uffff` after every id.
      values[':to'] = `${q.to ?? '9999'}#\uffff`;
      cond += ' AND #sk BETWEEN :from AND :to';
    }
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: GSI,
        KeyConditionExpression: cond,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        // One more than asked for tells whether a next page exists without a second read.
        Limit: q.limit + 1,
        ExclusiveStartKey: q.after,
      }),
    );
    const rows = res.Items ?? [];
    const page = rows.slice(0, q.limit);
    const last = page[page.length - 1];
    const next =
      rows.length > q.limit && last
        ? { pk: String(last.pk), sk: String(last.sk), gsi1pk: String(last.gsi1pk), gsi1sk: String(last.gsi1sk) }
        : null;
    return { items: page.map((r) => r.summary as ArticleSummary), next };
  }

  async bodyKeys(ids: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    if (ids.length > 100) throw new RangeError(`bodyKeys reads at most 100 ids, got ${ids.length}`);
    let keys: Item[] = [...new Set(ids)].map((id) => ({ pk: articlePk(id), sk: ARTICLE_SK }));
    // BatchGetItem may hand back some keys unprocessed (throttling, 16 MB): ask again for those.
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      if (attempt > 8) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed`);
      const res = await this.db.send(
        new BatchGetCommand({
          RequestItems: { [this.table]: { Keys: keys, ProjectionExpression: 'id, bodyKey, deleted' } },
        }),
      );
      for (const it of res.Responses?.[this.table] ?? []) {
        if (it.deleted !== true) out.set(String(it.id), typeof it.bodyKey === 'string' ? it.bodyKey : null);
      }
      keys = (res.UnprocessedKeys?.[this.table]?.Keys as Item[] | undefined) ?? [];
    }
    return out;
  }

  async linkPage(opts: { limit: number; after?: Record<string, string> }): Promise<LinkPage> {
    const res = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        IndexName: GSI,
        KeyConditionExpression: '#pk = :pk',
        ProjectionExpression: 'pk, sk, gsi1pk, gsi1sk, #sum.id, #sum.slug, #sum.#date, #sum.updated',
        ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sum': 'summary', '#date': 'date' },
        ExpressionAttributeValues: { ':pk': 'published#all#' },
        ScanIndexForward: false,
        Limit: opts.limit,
        ExclusiveStartKey: opts.after,
      }),
    );
    const items = (res.Items ?? []).map((r) => {
      const s = r.summary as Partial<ArticleSummary>;
      return { id: String(s.id), slug: String(s.slug ?? ''), date: s.date ?? null, updated: s.updated ?? null };
    });
    const last = res.LastEvaluatedKey;
    const next = last ? { pk: String(last.pk), sk: String(last.sk), gsi1pk: String(last.gsi1pk), gsi1sk: String(last.gsi1sk) } : null;
    return { items, next };
  }

  async counts(facet: CountedFacet): Promise<{ name: string; count: number }[]> {
    const out: { name: string; count: number }[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const res = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `C#${facet}` },
          ExclusiveStartKey: start,
        }),
      );
      for (const it of res.Items ?? []) {
        const n = Number(it.n ?? 0);
        if (n > 0) out.push({ name: String(it.name), count: n });
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  }
}
