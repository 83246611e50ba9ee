/**
 * The query API Lambda (API Gateway HTTP API, payload 2.0). Thin: configuration and
 * clients once per cold start; routing and validation live in app.ts.
 */
import { lambdaCredentials, loadConfig } from '../config';
import { ConfigError } from '../core/errors';
import { ENV } from '../definitions';
import { createDataApiDriver } from '../adapters/data-api-driver';
import { createHttpDocumentReads } from '../adapters/dynamo-http';
import { DynamoArticleReader } from '../adapters/dynamo-reader';
import { createPowertoolsLogger } from '../adapters/powertools';
import { createHttpTextReader } from '../adapters/s3-http';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { createApiHandler, type SearchReader } from './app';
import { createCursorCodec } from './cursor';

const config = loadConfig();
if (!config.cursorSecret) throw new ConfigError(`${ENV.CURSOR_SECRET} is required by the query API (it signs page cursors)`);
// No AWS SDK in this function: DynamoDB, S3 and the Data API are called over signed HTTP
// (adapters/aws-http.ts): with zod/mini, that took the cold import from 164 to 46 ms (docs/performance.md).
const aws = lambdaCredentials();
const readText = createHttpTextReader({ ...aws, endpoint: config.s3Endpoint });
// Search (Aurora through the Data API): its query code is set up on the first GET /search.
const searchConfig = config.search;
let searchIndex: Promise<SearchReader> | undefined;
const search: SearchReader | undefined = searchConfig && {
  search: async (query) =>
    (await (searchIndex ??= import('../core/search/index').then(
      // A reader is waiting: give an auto-paused cluster less time to resume than ingest does.
      (index) => new index.SearchIndex(createDataApiDriver({ ...searchConfig, resumeWaitMs: 20_000 }, aws)),
    ))).search(query),
};

const log = createPowertoolsLogger({ serviceName: 'api' });

const app = createApiHandler({
  reader: new DynamoArticleReader(createHttpDocumentReads({ ...aws, endpoint: config.dynamodbEndpoint }), config.tableName),
  readBody: (key) => readText(config.mediaBucket, key),
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
