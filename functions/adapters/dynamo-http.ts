/**
 * DynamoDB reads for the query API without the AWS SDK: DynamoDB's JSON protocol over one
 * signed, retried request (aws-http.ts: why, measured), items converted by the SDK's own
 * `@aws-sdk/util-dynamodb`. The API only reads: GetItem, Query, BatchGetItem. Ingest, the
 * sweeper and the scripts keep the SDK's document client, which they need for transactions.
 * The same reads through both clients answer the same on DynamoDB Local
 * (test/integration/dynamo-http.test.ts).
 */
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { createAwsSend, type AwsHttpOptions } from './aws-http';
import type { DocumentReads, Item } from './dynamo-reader';

export interface HttpReadsOptions extends Omit<AwsHttpOptions, 'service'> {
  /** DynamoDB's URL; default `https://dynamodb.<region>.amazonaws.com`. */
  endpoint?: string;
}

const toItem = (m: Record<string, AttributeValue> | undefined): Item | undefined => (m ? (unmarshall(m) as Item) : undefined);
const toItems = (list: Record<string, AttributeValue>[] | undefined): Item[] | undefined => list?.map((m) => unmarshall(m) as Item);
const fromItem = (v: Record<string, unknown> | undefined) =>
  v ? marshall(v, { removeUndefinedValues: true, convertClassInstanceToMap: false }) : undefined;

/** The request with document values turned into DynamoDB's typed values (undefined keys left out). */
function wire(input: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    out[k] = k === 'Key' || k === 'ExpressionAttributeValues' || k === 'ExclusiveStartKey' ? fromItem(v as Record<string, unknown>) : v;
  }
  return out;
}

export function createHttpDocumentReads(o: HttpReadsOptions): DocumentReads {
  const send = createAwsSend({ ...o, service: 'dynamodb' });
  const url = o.endpoint ?? `https://dynamodb.${o.region}.amazonaws.com`;
  const call = async <T>(operation: string, body: Record<string, unknown>): Promise<T> => {
    const res = await send(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amz-target': `DynamoDB_20120810.${operation}` },
      body: JSON.stringify(body),
    });
    return JSON.parse(res.text) as T;
  };

  type Raw = Record<string, AttributeValue>;
  return {
    async get(input) {
      const res = await call<{ Item?: Raw }>('GetItem', wire(input));
      return { Item: toItem(res.Item) };
    },
    async query(input) {
      const res = await call<{ Items?: Raw[]; LastEvaluatedKey?: Raw }>('Query', wire(input));
      return { Items: toItems(res.Items), LastEvaluatedKey: toItem(res.LastEvaluatedKey) };
    },
    async batchGet(input) {
      const RequestItems: Record<string, unknown> = {};
      for (const [table, r] of Object.entries(input.RequestItems)) RequestItems[table] = { ...r, Keys: r.Keys.map((k) => fromItem(k)) };
      const res = await call<{ Responses?: Record<string, Raw[]>; UnprocessedKeys?: Record<string, { Keys?: Raw[] }> }>('BatchGetItem', { RequestItems });
      const Responses: Record<string, Item[]> = {};
      for (const [table, items] of Object.entries(res.Responses ?? {})) Responses[table] = toItems(items) ?? [];
      const UnprocessedKeys: Record<string, { Keys: Item[] }> = {};
      for (const [table, r] of Object.entries(res.UnprocessedKeys ?? {})) UnprocessedKeys[table] = { Keys: toItems(r.Keys) ?? [] };
      return { Responses, UnprocessedKeys };
    },
  };
}
