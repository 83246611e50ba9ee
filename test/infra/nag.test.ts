/**
 * Proof that the checks the other infra tests rely on can fail: the same cdk-nag aspects
 * report a deliberately insecure stack, and the IAM scan finds a write grant.
 */
import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { applySecurityChecks } from '../../infra/stack';
import { actionCovers, objectWriteGrants } from './helpers';

function insecureStack() {
  const app = new App();
  const stack = new Stack(app, 'Insecure');
  new s3.Bucket(stack, 'PublicBucket', {
    publicReadAccess: true,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ACLS_ONLY,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  new sqs.Queue(stack, 'PlainQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
  applySecurityChecks(app);
  return stack;
}

describe('cdk-nag, as applied by applySecurityChecks, bites', () => {
  const stack = insecureStack();
  const annotations = Annotations.fromStack(stack);
  const messages = (pack: string) =>
    [
      ...annotations.findError('*', Match.stringLikeRegexp(`${pack}-.*`)),
      ...annotations.findWarning('*', Match.stringLikeRegexp(`${pack}-.*`)),
    ].map((m) => String(m.entry.data));

  it('reports a public, unlogged, SSL-optional bucket and an unencrypted queue without DLQ (AwsSolutions)', () => {
    const found = messages('AwsSolutions');
    for (const rule of ['AwsSolutions-S1', 'AwsSolutions-S10', 'AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']) {
      expect(found.some((m) => m.startsWith(`${rule}:`)), rule).toBe(true);
    }
    expect(annotations.findError('*', Match.stringLikeRegexp('AwsSolutions-.*')).length).toBeGreaterThan(0);
  });

  it('reports the queue without redrive policy (Serverless)', () => {
    expect(messages('Serverless').some((m) => m.startsWith('Serverless-SQSRedrivePolicy:'))).toBe(true);
  });
});

describe('the upload-bucket write scan bites', () => {
  function withGrant(grant: (bucket: s3.Bucket, role: iam.Role) => void) {
    const stack = new Stack(new App(), 'Grants');
    const bucket = new s3.Bucket(stack, 'Upload');
    const role = new iam.Role(stack, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    grant(bucket, role);
    const id = stack.resolve(stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)) as string;
    return objectWriteGrants(Template.fromStack(stack), id);
  }

  it('finds grantReadWrite, grantPut, grantDelete and s3:* on *', () => {
    expect(withGrant((b, r) => b.grantReadWrite(r))).not.toEqual([]);
    expect(withGrant((b, r) => b.grantPut(r))).not.toEqual([]);
    expect(withGrant((b, r) => b.grantDelete(r))).not.toEqual([]);
    expect(
      withGrant((_b, r) => r.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }))),
    ).not.toEqual([]);
  });

  it('passes grantRead', () => {
    expect(withGrant((b, r) => b.grantRead(r))).toEqual([]);
  });

  it('matches IAM action wildcards', () => {
    expect(actionCovers('s3:Put*', 's3:PutObject')).toBe(true);
    expect(actionCovers('s3:*Object', 's3:DeleteObject')).toBe(true);
    expect(actionCovers('s3:GetObject*', 's3:PutObject')).toBe(false);
    expect(actionCovers('s3:PutBucketNotification', 's3:PutObject')).toBe(false);
  });
});
