/**
 * The query API Lambda (API Gateway HTTP API, payload 2.0). Thin: configuration and
 * clients once per cold start; routing and validation live in app.ts.
 */
import { loadConfig } from '../config';
import { ConfigError } from '../core/errors';
import { ENV } from '../definitions';
import { createDocumentClient, createS3Client } from '../adapters/clients';
import { DynamoArticleIndex } from '../adapters/dynamo-index';
import { createJsonLogger } from '../adapters/logger';
import { S3ObjectStore } from '../adapters/s3-store';
import { createApiHandler } from './app';
import { createCursorCodec } from './cursor';

const config = loadConfig();
if (!config.cursorSecret) throw new ConfigError(`${ENV.CURSOR_SECRET} is required by the query API (it signs page cursors)`);
const objects = new S3ObjectStore(createS3Client(config));
const textDecoder = new TextDecoder();

export const handler = createApiHandler({
  reader: new DynamoArticleIndex(createDocumentClient(config), config.tableName),
  readBody: async (key) => {
    const obj = await objects.get(config.mediaBucket, key);
    return obj ? textDecoder.decode(obj.body) : null;
  },
  cursors: createCursorCodec(config.cursorSecret),
  corsAllowedOrigins: config.corsAllowedOrigins,
  log: createJsonLogger({ service: 'api' }),
});
