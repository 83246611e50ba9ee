/**
 * Shared by the infra tests: synthesize the pipeline the way `cdk synth` does (cdk.json's
 * context, feature flags included), and read IAM statements out of a template.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PROJECT_ROOT } from '../../infra/bundling';
import { createPipeline, type ArticlePipelineStack } from '../../infra/stack';

export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> };
  return cdkJson.context;
}

export interface Synthesized {
  app: App;
  stack: ArticlePipelineStack;
  template: Template;
  /** The cloud assembly directory (assets are staged here); outside the repository. */
  outdir: string;
  cleanup(): void;
}

/**
 * `bundle: false` skips esbuild (CDK's `aws:cdk:bundling-stacks` = []), for tests about
 * the template only; it is much faster.
 */
export function synthPipeline(opts: { context?: Record<string, unknown>; bundle?: boolean } = {}): Synthesized {
  // Outside the repository, so a staged asset cannot resolve packages from its node_modules.
  const outdir = mkdtempSync(join(tmpdir(), 'infra-test-'));
  const app = new App({
    outdir,
    context: {
      ...cdkJsonContext(),
      ...(opts.bundle === false ? { 'aws:cdk:bundling-stacks': [] } : {}),
      ...opts.context,
    },
  });
  const stack = createPipeline(app);
  const template = Template.fromStack(stack);
  return { app, stack, template, outdir, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

export interface FoundStatement {
  /** Logical ID of the resource holding the policy. */
  holder: string;
  type: string;
  statement: Record<string, unknown>;
}

/** Every statement of every identity and resource policy in the template. */
export function policyStatements(template: Template): FoundStatement[] {
  const found: FoundStatement[] = [];
  const push = (holder: string, type: string, doc: unknown) => {
    const statements = (doc as { Statement?: unknown } | undefined)?.Statement;
    for (const statement of Array.isArray(statements) ? statements : statements ? [statements] : []) {
      found.push({ holder, type, statement: statement as Record<string, unknown> });
    }
  };
  for (const [id, res] of Object.entries(template.toJSON().Resources as Record<string, { Type: string; Properties?: any }>)) {
    const p = res.Properties ?? {};
    switch (res.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy':
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
      case 'AWS::SNS::TopicPolicy':
        push(id, res.Type, p.PolicyDocument);
        break;
      case 'AWS::IAM::Role':
        for (const inline of p.Policies ?? []) push(id, res.Type, inline.PolicyDocument);
        break;
      case 'AWS::KMS::Key':
        push(id, res.Type, p.KeyPolicy);
        break;
    }
  }
  return found;
}

export const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Does an IAM action pattern (with * and ?) cover the concrete action? */
export function actionCovers(pattern: string, action: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(action);
}

/** Actions that change objects in a bucket. */
export const OBJECT_WRITE_ACTIONS = [
  's3:PutObject',
  's3:PutObjectAcl',
  's3:PutObjectTagging',
  's3:PutObjectRetention',
  's3:PutObjectLegalHold',
  's3:DeleteObject',
  's3:DeleteObjectVersion',
  's3:DeleteObjectTagging',
  's3:RestoreObject',
  's3:ReplicateObject',
  's3:ReplicateDelete',
  's3:AbortMultipartUpload',
];

/**
 * Allow statements that could write objects of the bucket with this logical ID: any
 * resource naming the bucket, or a wildcard resource.
 */
export function objectWriteGrants(template: Template, bucketLogicalId: string): FoundStatement[] {
  return policyStatements(template).filter(({ statement }) => {
    if (statement.Effect !== 'Allow') return false;
    const actions = asList(statement.Action).map(String);
    if (!actions.some((a) => OBJECT_WRITE_ACTIONS.some((w) => actionCovers(a, w)))) return false;
    const resources = asList(statement.Resource);
    return resources.some((r) => r === '*' || r === 'arn:aws:s3:::*' || JSON.stringify(r).includes(`"${bucketLogicalId}"`));
  });
}
