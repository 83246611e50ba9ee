/**
 * `npm run reindex`: rebuilds the search index from the article table (after a search
 * schema change, or to recover the search database). Safe while ingest runs
 * (functions/core/search/reindex.ts).
 *
 * Local stack by default (it must be running: `npm run dev`). Against AWS, set the stack's
 * outputs and run the same command with AWS credentials:
 *   SEARCH_CLUSTER_ARN=<SearchClusterArn> SEARCH_SECRET_ARN=<SearchSecretArn> \
 *   TABLE_NAME=<TableName> MEDIA_BUCKET=<MediaBucketName> [SEARCH_DATABASE=articles] npm run reindex
 */
import { loadConfig } from '../functions/config';
import { createDocumentClient, createS3Client } from '../functions/adapters/clients';
import { createDataApiDriver } from '../functions/adapters/data-api-driver';
import { DynamoArticleIndex } from '../functions/adapters/dynamo-index';
import { S3ObjectStore } from '../functions/adapters/s3-store';
import { createSearchFeed } from '../functions/core/search/feed';
import { SearchIndex } from '../functions/core/search/index';
import { reindex, type ReindexResult } from '../functions/core/search/reindex';
import { DEFAULTS, ENV } from '../functions/definitions';
import { LOCAL_SEARCH } from '../local/data-api';
import { START_STACK, ToolError, describeError, isConnectionRefused, isMain, runCli } from './lib';

type Env = Record<string, string | undefined>;

/** The environment the handlers would see: AWS when SEARCH_CLUSTER_ARN is set, else the local stack. */
export function reindexEnv(env: Env = process.env): { target: 'local' | 'aws'; env: Env } {
  if (env[ENV.SEARCH_CLUSTER_ARN]?.trim()) {
    for (const name of [ENV.SEARCH_SECRET_ARN, ENV.TABLE_NAME, ENV.MEDIA_BUCKET]) {
      if (!env[name]?.trim()) throw new ToolError('bad_arguments', `${name} is required with ${ENV.SEARCH_CLUSTER_ARN} (see the stack outputs)`);
    }
    return { target: 'aws', env };
  }
  const port = (name: string, fallback: number) => env[name]?.trim() || String(fallback);
  return {
    target: 'local',
    env: {
      ...env,
      [ENV.S3_ENDPOINT]: `http://127.0.0.1:${port(ENV.S3_PORT, DEFAULTS.s3Port)}`,
      [ENV.DYNAMODB_ENDPOINT]: `http://127.0.0.1:${port(ENV.DYNAMODB_PORT, DEFAULTS.dynamodbPort)}`,
      [ENV.RDS_DATA_ENDPOINT]: `http://127.0.0.1:${port(ENV.RDS_DATA_PORT, DEFAULTS.rdsDataPort)}`,
      [ENV.SEARCH_CLUSTER_ARN]: LOCAL_SEARCH.resourceArn,
      [ENV.SEARCH_SECRET_ARN]: LOCAL_SEARCH.secretArn,
      [ENV.SEARCH_DATABASE]: LOCAL_SEARCH.database,
      AWS_REGION: DEFAULTS.localRegion,
      AWS_ACCESS_KEY_ID: DEFAULTS.localAccessKeyId,
      AWS_SECRET_ACCESS_KEY: DEFAULTS.localSecretAccessKey,
    },
  };
}

export async function runReindex(env: Env = process.env): Promise<ReindexResult & { target: 'local' | 'aws' }> {
  const { target, env: handlerEnv } = reindexEnv(env);
  if (target === 'local') Object.assign(process.env, handlerEnv);
  const config = loadConfig(handlerEnv);
  const table = new DynamoArticleIndex(createDocumentClient(config), config.tableName);
  const s3 = createS3Client(config);
  const objects = new S3ObjectStore(s3);
  // The identity and region the SDK clients resolve (environment, profile, SSO), for the Data API's signed requests.
  const db = createDataApiDriver({ ...config.search!, resumeWaitMs: 120_000 }, { region: await s3.config.region(), credentials: () => s3.config.credentials() });
  const decoder = new TextDecoder();
  const feed = createSearchFeed({
    index: new SearchIndex(db),
    reader: table,
    readBody: async (key) => {
      const obj = await objects.get(config.mediaBucket, key);
      return obj ? decoder.decode(obj.body) : null;
    },
  });
  const result = await reindex({ articles: table, states: table, feed, db });
  return { ...result, target };
}

async function main(): Promise<number> {
  try {
    const r = await runReindex();
    console.log(
      `reindexed (${r.target}): ${r.searchable} searchable, ${r.hidden} not public, ${r.retired} retired` +
        (r.migrated.length ? `; applied migrations ${r.migrated.join(', ')}` : ''),
    );
    return 0;
  } catch (err) {
    if (isConnectionRefused(err)) throw new ToolError('stack_unreachable', `${describeError(err)}. ${START_STACK}`);
    throw err;
  }
}

if (isMain(import.meta.url)) await runCli('reindex', main);
