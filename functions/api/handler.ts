/**
 * The query API Lambda (API Gateway HTTP API, payload 2.0). Thin: configuration and
 * clients once per cold start; routing and validation live in app.ts.
 */
import { loadConfig } from '../config';
import { ConfigError } from '../core/errors';
import { ENV } from '../definitions';
import { createDocumentClient } from '../adapters/dynamo-client';
import { DynamoArticleIndex } from '../adapters/dynamo-index';
import { createPowertoolsLogger } from '../adapters/powertools';
import type { ObjectStore } from '../ports';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createApiHandler, type SearchReader } from './app';
import { createCursorCodec } from './cursor';

const config = loadConfig();
if (!config.cursorSecret) throw new ConfigError(`${ENV.CURSOR_SECRET} is required by the query API (it signs page cursors)`);
// Only GET /articles/{id} and the feeds read S3: its SDK (~30 ms to load) waits for the first such
// request instead of lengthening every cold start.
let objects: Promise<ObjectStore> | undefined;
const bodyStore = (): Promise<ObjectStore> =>
  (objects ??= Promise.all([import('../adapters/clients'), import('../adapters/s3-store')]).then(
    ([clients, store]) => new store.S3ObjectStore(clients.createS3Client(config)),
  ));
const textDecoder = new TextDecoder();
// Search (Aurora through the Data API), likewise loaded on the first GET /search.
const searchConfig = config.search;
let searchIndex: Promise<SearchReader> | undefined;
const search: SearchReader | undefined = searchConfig && {
  search: async (query) =>
    (await (searchIndex ??= Promise.all([import('../adapters/data-api-driver'), import('../core/search/index')]).then(
      // A reader is waiting: give an auto-paused cluster less time to resume than ingest does.
      ([driver, index]) => new index.SearchIndex(driver.createDataApiDriver({ ...searchConfig, resumeWaitMs: 20_000 })),
    ))).search(query),
};

const log = createPowertoolsLogger({ serviceName: 'api' });

const app = createApiHandler({
  reader: new DynamoArticleIndex(createDocumentClient(config), config.tableName),
  readBody: async (key) => {
    const obj = await (await bodyStore()).get(config.mediaBucket, key);
    return obj ? textDecoder.decode(obj.body) : null;
  },
  cursors: createCursorCodec(config.cursorSecret),
  publicFrontMatterKeys: config.publicFrontMatterKeys,
  log,
  articleUrlTemplate: config.articleUrlTemplate,
  timeZone: config.defaultTimezone,
  search,
});

export async function handler(event: APIGatewayProxyEventV2, context?: Context): ReturnType<typeof app> {
  // Lambda passes a context (request id, function name in every log entry); the local stack does not.
  if (context) log.powertools.addContext(context);
  return app(event);
}
