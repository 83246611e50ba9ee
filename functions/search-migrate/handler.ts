/**
 * The deploy-time migration step: a CloudFormation custom resource (through CDK's provider
 * framework, which answers CloudFormation and retries) that runs the versioned, idempotent
 * search migrations (core/search/migrations.ts) through the Data API. Create and Update
 * migrate; Delete leaves the data alone (the cluster's own removal policy decides).
 */
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { lambdaCredentials, loadConfig } from '../config';
import { ConfigError } from '../core/errors';
import { migrate, SCHEMA_VERSION } from '../core/search/migrations';
import { createDataApiDriver } from '../adapters/data-api-driver';
import { ENV } from '../definitions';

export async function handler(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const physicalId = 'search-schema';
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  const config = loadConfig();
  if (!config.search) throw new ConfigError(`${ENV.SEARCH_CLUSTER_ARN} and ${ENV.SEARCH_SECRET_ARN} are required by the migration step`);
  // A paused cluster resumes in about 15 s; a just-created one may take longer to accept statements.
  const applied = await migrate(createDataApiDriver({ ...config.search, resumeWaitMs: 5 * 60_000 }, lambdaCredentials()));
  console.log(JSON.stringify({ message: 'search migrations', applied, schemaVersion: SCHEMA_VERSION }));
  return { PhysicalResourceId: physicalId, Data: { SchemaVersion: String(SCHEMA_VERSION), Applied: applied.join(',') } };
}
