/**
 * The article index's reads (key schema and items: dynamo-index.ts), over any client that
 * can get, query and batch-get documents: the SDK's document client (dynamo-index.ts
 * `sdkReads`) or plain signed HTTP (dynamo-http.ts), which is what the query API loads.
 * No AWS SDK import here, so the API bundle carries none for DynamoDB.
 */
import { BUDGETS, boundedKey } from '../core/bounds';
import type { ArticleSummary } from '../core/types';
import type { ArticleReader, ArticleRecord, CountedFacet, LinkPage, ListPage, ListQuery } from '../ports';

export type Item = Record<string, unknown>;

export interface GetInput {
  TableName: string;
  Key: Item;
  ConsistentRead?: boolean;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
}

export interface QueryInput {
  TableName: string;
  IndexName?: string;
  KeyConditionExpression: string;
  ProjectionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Item;
  ScanIndexForward?: boolean;
  Limit?: number;
  ExclusiveStartKey?: Item;
  ConsistentRead?: boolean;
}

export interface BatchGetInput {
  RequestItems: Record<string, { Keys: Item[]; ProjectionExpression?: string; ExpressionAttributeNames?: Record<string, string>; ConsistentRead?: boolean }>;
}

/** The three reads, in the document client's shapes (plain values, not typed attribute values). */
export interface DocumentReads {
  get(input: GetInput): Promise<{ Item?: Item }>;
  query(input: QueryInput): Promise<{ Items?: Item[]; LastEvaluatedKey?: Item }>;
  batchGet(input: BatchGetInput): Promise<{ Responses?: Record<string, Item[]>; UnprocessedKeys?: Record<string, { Keys?: Item[] }> }>;
}

export const GSI = 'gsi1';
export const ARTICLE_SK = 'A';
export const articlePk = (id: string) => `A#${id}`;

/**
 * Case- and form-insensitive key for a facet value, so `Go`, `go` and ` go ` list together.
 * It is part of sort and partition keys (1,024 / 2,048 bytes): a long value gets a stable
 * hashed form (core/bounds.ts); the listing and count items keep the name itself.
 */
export function facetKey(value: string): string {
  return boundedKey(value.normalize('NFC').trim().toLowerCase(), BUDGETS.facetKey);
}

export class DynamoArticleReader implements ArticleReader {
  constructor(
    protected readonly reads: DocumentReads,
    protected readonly table: string,
  ) {}

  async get(id: string): Promise<ArticleRecord | null> {
    const res = await this.reads.get({ TableName: this.table, Key: { pk: articlePk(id), sk: ARTICLE_SK } });
    const it = res.Item;
    if (!it || it.deleted === true) return null;
    const { pk: _pk, sk: _sk, seq: _seq, complete: _c, pendingEvent: _e, ...rest } = it;
    return rest as unknown as ArticleRecord;
  }

  async list(q: ListQuery): Promise<ListPage> {
    const facet = q.facet ? `${q.facet.name}#${facetKey(q.facet.value)}` : 'all#';
    const names: Record<string, string> = { '#pk': 'gsi1pk' };
    const values: Record<string, unknown> = { ':pk': `${q.status}#${facet}` };
    let cond = '#pk = :pk';
    // `#` sorts after every ISO character used, `\uffff` after every id. A bound that was
    // not given is left out: DynamoDB refuses an empty string in a key condition.
    if (q.from || q.to) names['#sk'] = 'gsi1sk';
    if (q.from) values[':from'] = q.from;
    if (q.to) values[':to'] = `${q.to}#\uffff`;
    if (q.from && q.to) cond += ' AND #sk BETWEEN :from AND :to';
    else if (q.from) cond += ' AND #sk >= :from';
    else if (q.to) cond += ' AND #sk <= :to';
    const res = await this.reads.query({
        TableName: this.table,
        IndexName: GSI,
        KeyConditionExpression: cond,
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ScanIndexForward: false,
        // One more than asked for tells whether a next page exists without a second read.
        Limit: q.limit + 1,
        ExclusiveStartKey: q.after,
      });
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
      const res = await this.reads.batchGet({
          RequestItems: { [this.table]: { Keys: keys, ProjectionExpression: 'id, bodyKey, deleted' } },
        });
      for (const it of res.Responses?.[this.table] ?? []) {
        if (it.deleted !== true) out.set(String(it.id), typeof it.bodyKey === 'string' ? it.bodyKey : null);
      }
      keys = (res.UnprocessedKeys?.[this.table]?.Keys as Item[] | undefined) ?? [];
    }
    return out;
  }

  async linkPage(opts: { limit: number; after?: Record<string, string> }): Promise<LinkPage> {
    const res = await this.reads.query({
        TableName: this.table,
        IndexName: GSI,
        KeyConditionExpression: '#pk = :pk',
        ProjectionExpression: 'pk, sk, gsi1pk, gsi1sk, #sum.id, #sum.slug, #sum.#date, #sum.updated',
        ExpressionAttributeNames: { '#pk': 'gsi1pk', '#sum': 'summary', '#date': 'date' },
        ExpressionAttributeValues: { ':pk': 'published#all#' },
        ScanIndexForward: false,
        Limit: opts.limit,
        ExclusiveStartKey: opts.after,
      });
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
      const res = await this.reads.query({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': `C#${facet}` },
          ExclusiveStartKey: start,
        });
      for (const it of res.Items ?? []) {
        const n = Number(it.n ?? 0);
        if (n > 0) out.push({ name: String(it.name), count: n });
      }
      start = res.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  }
}
