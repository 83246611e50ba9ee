/**
 * The search cluster in the template: Aurora PostgreSQL Serverless v2 with the Data API,
 * pausing at 0 ACUs, in an isolated VPC without NAT, migrations at deploy time, and
 * functions allowed ExecuteStatement on that cluster and its secret only. cdk-nag clean.
 */
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCHEMA_VERSION } from '../../functions/core/search/migrations';
import { ENV } from '../../functions/definitions';
import type { ArticlePipelineStack } from '../../infra/stack';
import { synthPipeline, type Synthesized } from './helpers';

let synth: Synthesized;
let template: Template;
let stack: ArticlePipelineStack;
let resources: Record<string, any>;
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

beforeAll(() => {
  synth = synthPipeline({ bundle: false });
  template = synth.template;
  stack = synth.stack;
  resources = template.toJSON().Resources;
}, 180_000);
afterAll(() => synth?.cleanup());

describe('search infrastructure', () => {
  it.each(['AwsSolutions', 'Serverless'])('has no unacknowledged %s finding', (pack) => {
    const annotations = Annotations.fromStack(stack);
    const pattern = Match.stringLikeRegexp(`${pack}-.*`);
    expect([...annotations.findError('*', pattern), ...annotations.findWarning('*', pattern)].map((m) => `${m.id}: ${String(m.entry.data).slice(0, 120)}`)).toEqual([]);
  });

  it('is an Aurora PostgreSQL Serverless v2 cluster with the Data API, min 0 ACUs and auto-pause, encrypted', () => {
    const cluster = ofType('AWS::RDS::DBCluster')[0]![1];
    expect(cluster.Properties).toMatchObject({
      Engine: 'aurora-postgresql',
      EnableHttpEndpoint: true,
      StorageEncrypted: true,
      ServerlessV2ScalingConfiguration: { MinCapacity: 0, MaxCapacity: 4, SecondsUntilAutoPause: 600 },
    });
    const instances = ofType('AWS::RDS::DBInstance');
    expect(instances).toHaveLength(1);
    expect(instances[0]![1].Properties.DBInstanceClass).toBe('db.serverless');
  });

  it('lives in an isolated VPC of its own: no NAT gateway, no internet gateway', () => {
    expect(ofType('AWS::EC2::NatGateway')).toEqual([]);
    expect(ofType('AWS::EC2::InternetGateway')).toEqual([]);
    for (const [, subnet] of ofType('AWS::EC2::Subnet')) expect(subnet.Properties.MapPublicIpOnLaunch).toBe(false);
  });

  it('takes capacity, auto-pause and deletion protection from context', () => {
    const s = synthPipeline({ bundle: false, context: { searchMinAcu: '0.5', searchMaxAcu: '8', searchDeletionProtection: 'true' } });
    try {
      const cluster = Object.values(s.template.toJSON().Resources as Record<string, any>).find((r) => r.Type === 'AWS::RDS::DBCluster');
      expect(cluster.Properties.ServerlessV2ScalingConfiguration).toEqual({ MinCapacity: 0.5, MaxCapacity: 8 });
      expect(cluster.Properties.DeletionProtection).toBe(true);
    } finally {
      s.cleanup();
    }
    const off = synthPipeline({ bundle: false, context: { search: 'false' } });
    try {
      expect(Object.values(off.template.toJSON().Resources as Record<string, any>).filter((r) => r.Type === 'AWS::RDS::DBCluster')).toEqual([]);
    } finally {
      off.cleanup();
    }
  });

  it('migrates at deploy time through a custom resource that names the schema version', () => {
    const custom = ofType('Custom::SearchSchema');
    expect(custom).toHaveLength(1);
    expect(custom[0]![1].Properties.SchemaVersion).toBe(SCHEMA_VERSION);
    expect(custom[0]![1].DependsOn.some((d: string) => d.includes('Cluster'))).toBe(true);
  });

  it('gives ingest, the API and the migration step the cluster env, ExecuteStatement on that cluster only and its secret', () => {
    const clusterId = logicalId(stack.search!.cluster);
    for (const fn of [stack.ingest.handler, stack.queryApi.handler, stack.search!.migrations]) {
      const env = resources[logicalId(fn.function)]!.Properties.Environment.Variables;
      expect(env[ENV.SEARCH_CLUSTER_ARN]).toBeDefined();
      expect(env[ENV.SEARCH_SECRET_ARN]).toBeDefined();
      const roleId = logicalId(fn.role);
      const statements = ofType('AWS::IAM::Policy')
        .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === roleId))
        .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Record<string, any>[]);
      const rdsData = statements.filter((s) => JSON.stringify(s.Action).includes('rds-data:'));
      expect(rdsData).toHaveLength(1);
      expect(rdsData[0]!.Action).toBe('rds-data:ExecuteStatement');
      expect(JSON.stringify(rdsData[0]!.Resource)).toContain(clusterId);
      const secret = statements.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'));
      expect(secret.length).toBeGreaterThan(0);
      for (const s of secret) expect(JSON.stringify(s.Resource)).not.toBe('"*"');
    }
  });
});
