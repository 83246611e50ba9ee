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
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { backoffDelay, sleep, type Backoff } from '../core/backoff';
import { summaryFields } from '../core/bounds';
import { LostRaceError, TransactionTooLargeError } from '../core/errors';
import type { ArticleSummary } from '../core/types';
import type {
  ArticleReader,
  ArticleRecord,
  ArticleWriter,
  CountedFacet,
  Facet,
  IndexListing,
  IndexState,
  LinkPage,
  ListPage,
  ListQuery,
  PublishEvent,
  Transition,
} from '../ports';
import { TRANSACTION_LIMITS } from '../write-budget';
import { ifConditionHolds } from './dynamo-client';
import { ARTICLE_SK, articlePk, DynamoArticleReader, facetKey, type DocumentReads, type Item } from './dynamo-reader';

export { articlePk, facetKey };

/** The reads of a DynamoDB document client, for the reader (ingest, scripts, tests). */
export function sdkReads(db: DynamoDBDocumentClient): DocumentReads {
  return {
    get: (input) => db.send(new GetCommand(input)),
    query: (input) => db.send(new QueryCommand(input)),
    batchGet: (input) => db.send(new BatchGetCommand(input)),
  };
}

type TxItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

const TOMBSTONE_TTL_SECONDS = 90 * 24 * 3600;
const COUNTED: ReadonlySet<string> = new Set<CountedFacet>(['category', 'tag', 'author']);

const LISTING_PREFIX = 'L#';

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


const isCounted = (facet: string, status: unknown) => COUNTED.has(facet) && status === 'published';

/** The compare-and-set: the article item is still at the revision the event read. */
const revisionCondition = (read: IndexState) => (read.rev ? 'rev = :read' : 'attribute_exists(pk) AND attribute_not_exists(rev)');

/** Codes of a cancelled transaction's items, in the order of TransactItems ('None' where fine). */
function cancellationCodes(err: unknown): string[] {
  const reasons = (err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.map((r) => r?.Code ?? 'None');
}

/**
 * Another transaction held one of our items (a hot count item: every article of one
 * category updates it). Nothing was written; the same transaction may simply be sent again.
 */
function isContention(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  if (name === 'TransactionConflictException' || name === 'TransactionInProgressException') return true;
  if (name !== 'TransactionCanceledException') return false;
  const codes = cancellationCodes(err);
  return codes.includes('TransactionConflict') && !codes.includes('ConditionalCheckFailed');
}

/** How contention is retried: exponential backoff with full jitter (core/backoff.ts). */
export interface ContentionPolicy extends Backoff {
  attempts: number;
}

export const DEFAULT_CONTENTION: ContentionPolicy = { attempts: 12, baseMs: 20, capMs: 2_000 };

/** Rough size of an item as DynamoDB counts it (names + values), for the transaction budget. */
function itemBytes(item: unknown): number {
  return Buffer.byteLength(JSON.stringify(item) ?? '', 'utf8');
}

export class DynamoArticleIndex extends DynamoArticleReader implements ArticleWriter, ArticleReader {
  /** Contention retries and transactions sent, since construction (tests and the bench read them). */
  readonly stats = { transactions: 0, contentionRetries: 0 };

  constructor(
    private readonly db: DynamoDBDocumentClient,
    table: string,
    private readonly contention: ContentionPolicy = DEFAULT_CONTENTION,
  ) {
    super(sdkReads(db), table);
  }

  // ------------------------------------------------------------------ writes

  async getState(id: string): Promise<IndexState | null> {
    const res = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { pk: articlePk(id), sk: ARTICLE_SK },
        ConsistentRead: true,
        ProjectionExpression:
          'id, seq, rev, deleted, sourceEtag, contentHash, pipelineVersion, bodyKey, #s, imageWarnings, listings, supersededBodyKeys, slug, title, pendingEvent',
        ExpressionAttributeNames: { '#s': 'status' },
      }),
    );
    const it = res.Item;
    if (!it) return null;
    return {
      id,
      sequencer: String(it.seq),
      rev: Number(it.rev ?? 0),
      deleted: it.deleted === true,
      sourceEtag: (it.sourceEtag as string | undefined) ?? null,
      contentHash: (it.contentHash as string | undefined) ?? null,
      pipelineVersion: Number(it.pipelineVersion ?? 0),
      bodyKey: (it.bodyKey as string | undefined) ?? null,
      status: (it.status as IndexState['status']) ?? null,
      imageWarnings: Number(it.imageWarnings ?? 0),
      listings: Array.isArray(it.listings) ? (it.listings as IndexListing[]) : [],
      supersededBodyKeys: Array.isArray(it.supersededBodyKeys) ? (it.supersededBodyKeys as string[]) : [],
      slug: (it.slug as string | undefined) ?? null,
      title: (it.title as string | undefined) ?? null,
      pendingEvent: (it.pendingEvent as PublishEvent | undefined) ?? null,
    };
  }

  async save(record: ArticleRecord, sequencer: string, read: IndexState | null, event: PublishEvent | null = null): Promise<Transition> {
    const imageWarnings = record.warnings.filter((w) => w.code.startsWith('image_')).length;
    const listings = listingsOf(record);
    const item: Item = {
      ...record,
      pk: articlePk(record.id),
      sk: ARTICLE_SK,
      seq: sequencer,
      imageWarnings,
      listings: listings.map(({ sk, facet, key, name }) => ({ sk, facet, key, name })),
      ...(event ? { pendingEvent: event } : {}),
    };
    return this.transition(item, read, { listings, record });
  }

  async remove(id: string, sourceKey: string, sequencer: string, read: IndexState | null, event: PublishEvent | null = null): Promise<Transition> {
    const tombstone: Item = {
      pk: articlePk(id),
      sk: ARTICLE_SK,
      id,
      sourceKey,
      seq: sequencer,
      deleted: true,
      // Kept long enough to reject late, older events for the key; then DynamoDB expires it.
      expiresAt: Math.floor(Date.now() / 1000) + TOMBSTONE_TTL_SECONDS,
      ...(event ? { pendingEvent: event } : {}),
    };
    return this.transition(tombstone, read, null);
  }

  async touch(id: string, sequencer: string, read: IndexState, etag: string | null): Promise<Transition> {
    const rev = read.rev + 1;
    const written = await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: articlePk(id), sk: ARTICLE_SK },
          UpdateExpression: `SET seq = :seq, rev = :rev${etag ? ', sourceEtag = :etag' : ''}`,
          ConditionExpression: revisionCondition(read),
          ExpressionAttributeValues: { ':seq': sequencer, ':rev': rev, ...(read.rev ? { ':read': read.rev } : {}), ...(etag ? { ':etag': etag } : {}) },
        }),
      ),
    );
    if (!written) throw new LostRaceError();
    return { rev, superseded: read.supersededBodyKeys };
  }

  async forgetBodies(id: string, rev: number): Promise<void> {
    return this.removeAtRev(id, rev, 'supersededBodyKeys');
  }

  async clearEvent(id: string, rev: number): Promise<void> {
    return this.removeAtRev(id, rev, 'pendingEvent');
  }

  /** Drops an attribute if the article is still at `rev`; not a transition (`rev` stays). */
  private async removeAtRev(id: string, rev: number, attribute: 'supersededBodyKeys' | 'pendingEvent'): Promise<void> {
    // A false condition: a newer transition carried the keys on (it deletes them and forgets
    // them itself), or replaced the event after delivering it.
    await ifConditionHolds(
      this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: articlePk(id), sk: ARTICLE_SK },
          UpdateExpression: `REMOVE ${attribute}`,
          ConditionExpression: 'rev = :rev',
          ExpressionAttributeValues: { ':rev': rev },
        }),
      ),
    );
  }

  /**
   * The one write of a transition: the article item, conditioned on the revision the event
   * read, with every listing put/delete and count update the change implies, in ONE
   * TransactWriteItems. Since every transition of the article goes through this condition,
   * the listings and counts in `read` are exactly what is in the table, so the counts stay
   * exact and no condition is needed on the other items.
   */
  private async transition(
    item: Item,
    read: IndexState | null,
    next: { listings: Listing[]; record: ArticleRecord } | null,
  ): Promise<Transition> {
    const rev = (read?.rev ?? 0) + 1;
    const id = String(item.id);
    const keep = next?.record.bodyKey ?? null;
    // The bodies this change replaces are recorded in the same write, so a crash before they
    // are deleted never loses track of one (the next transition carries them on).
    const superseded = [...new Set([...(read?.supersededBodyKeys ?? []), read?.bodyKey ?? null])].filter(
      (k): k is string => typeof k === 'string' && k !== keep,
    );
    const articlePut: TxItem = {
      Put: {
        TableName: this.table,
        Item: { ...item, rev, ...(superseded.length ? { supersededBodyKeys: superseded } : {}) },
        ConditionExpression: read ? revisionCondition(read) : 'attribute_not_exists(pk)',
        ...(read?.rev ? { ExpressionAttributeValues: { ':read': read.rev } } : {}),
      },
    };
    const tx: TxItem[] = [articlePut];
    const old = new Map((read?.deleted ? [] : (read?.listings ?? [])).map((l) => [l.sk, l]));
    const oldStatus = read?.status ?? null;
    const wanted = new Set<string>();
    if (next) {
      const { record } = next;
      const summary = summaryFields(record);
      for (const l of next.listings) {
        wanted.add(l.sk);
        tx.push({
          Put: {
            TableName: this.table,
            Item: {
              pk: articlePk(id),
              sk: l.sk,
              facet: l.facet,
              key: l.key,
              name: l.name,
              status: record.status,
              seq: item.seq,
              gsi1pk: `${record.status}#${l.facet}#${l.key}`,
              gsi1sk: `${record.sortDate}#${id}`,
              summary,
            },
          },
        });
        const was = old.get(l.sk);
        const delta = (isCounted(l.facet, record.status) ? 1 : 0) - (was && isCounted(was.facet, oldStatus) ? 1 : 0);
        if (delta) tx.push(this.countUpdate(l.facet, l.key, l.name, delta));
      }
    }
    for (const [sk, was] of old) {
      if (wanted.has(sk)) continue;
      tx.push({ Delete: { TableName: this.table, Key: { pk: articlePk(id), sk } } });
      if (isCounted(was.facet, oldStatus)) tx.push(this.countUpdate(was.facet, was.key, was.name, -1));
    }
    this.assertFits(tx);
    await this.send(tx);
    return { rev, superseded };
  }

  private assertFits(tx: TxItem[]): void {
    const bytes = tx.reduce((n, t) => n + itemBytes(t.Put?.Item ?? t.Delete?.Key ?? t.Update?.Key ?? t.ConditionCheck?.Key), 0);
    if (tx.length > TRANSACTION_LIMITS.maxItems || bytes > TRANSACTION_LIMITS.maxBytes) {
      throw new TransactionTooLargeError(
        `a transition of ${tx.length} items and ~${bytes} bytes exceeds one transaction (${TRANSACTION_LIMITS.maxItems} items, ${TRANSACTION_LIMITS.maxBytes} bytes)`,
      );
    }
  }

  /** Sends one transaction; contention is retried with backoff, a lost condition is a lost race. */
  private async send(tx: TxItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.stats.transactions++;
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: tx }));
        return;
      } catch (err) {
        if (cancellationCodes(err)[0] === 'ConditionalCheckFailed') throw new LostRaceError();
        if (!isContention(err) || attempt >= this.contention.attempts) throw err;
        this.stats.contentionRetries++;
        await sleep(backoffDelay(attempt, this.contention));
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
}
