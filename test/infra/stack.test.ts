/**
 * The synthesized pipeline stack, checked property by property, plus the security
 * rules (cdk-nag AwsSolutions and Serverless) that `cdk synth` enforces. Synthesized
 * once, with real bundling, exactly as `npx cdk synth` would (cdk.json context).
 */
import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, TABLE, isArticleKey } from '../../functions/definitions';
import { TABLE_WRITE_ACTIONS } from '../../infra/constructs/permissions';
import { DEFAULT_SETTINGS } from '../../infra/settings';
import type { ArticlePipelineStack } from '../../infra/stack';
import { actionCovers, asList, objectWriteGrants, policyStatements, synthPipeline, type Synthesized } from './helpers';

let synth: Synthesized;
let template: Template;
let stack: ArticlePipelineStack;
let resources: Record<string, { Type: string; Properties: any; Metadata?: any; DeletionPolicy?: string; UpdateReplacePolicy?: string }>;

const logicalId = (c: { node: { defaultChild?: unknown } }) =>
  stack.resolve(stack.getLogicalId(c.node.defaultChild as never)) as string;
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const single = (type: string) => {
  const found = ofType(type);
  expect(found, type).toHaveLength(1);
  return found[0]![1];
};
const getAtt = (id: string, attr: string) => ({ 'Fn::GetAtt': [id, attr] });

function roleStatements(role: { node: { defaultChild?: unknown } }) {
  const roleId = logicalId(role);
  return ofType('AWS::IAM::Policy')
    .filter(([, r]) => r.Properties.Roles.some((ref: { Ref: string }) => ref.Ref === roleId))
    .flatMap(([, r]) => r.Properties.PolicyDocument.Statement as Record<string, any>[]);
}

beforeAll(() => {
  synth = synthPipeline();
  template = synth.template;
  stack = synth.stack;
  resources = template.toJSON().Resources;
}, 180_000);
afterAll(() => synth?.cleanup());

describe('security rules (cdk-nag)', () => {
  it.each(['AwsSolutions', 'Serverless'])('has no unacknowledged %s finding', (pack) => {
    const pattern = Match.stringLikeRegexp(`${pack}-.*`);
    const annotations = Annotations.fromStack(stack);
    expect(annotations.findError('*', pattern)).toEqual([]);
    expect(annotations.findWarning('*', pattern)).toEqual([]);
  });

  it('ran both rule packs (acknowledged findings are recorded)', () => {
    const ids = Object.values(resources).flatMap((r) => (r.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((s: { id: string }) => s.id));
    expect(ids.some((id) => id.startsWith('AwsSolutions-'))).toBe(true);
    expect(ids.some((id) => id.startsWith('Serverless-'))).toBe(true);
  });

  it('gives every acknowledgement a specific reason, and wildcard IAM ones name what they cover', () => {
    const all = Object.values(resources).flatMap((r) => r.Metadata?.cdk_nag?.rules_to_suppress ?? []) as {
      id: string;
      reason: string;
      applies_to?: unknown[];
    }[];
    expect(all.length).toBeGreaterThan(0);
    for (const s of all) {
      expect(s.reason.length, s.id).toBeGreaterThanOrEqual(40);
      if (s.id === 'AwsSolutions-IAM5' || s.id === 'AwsSolutions-IAM4') expect(s.applies_to?.length, s.id).toBeGreaterThan(0);
    }
  });
});

describe('storage', () => {
  it('keeps uploads private, encrypted, SSL-only, versioned, expiring old versions, logging access', () => {
    const upload = resources[logicalId(stack.storage.uploadBucket)]!.Properties;
    expect(upload.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(upload.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(upload.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(upload.LifecycleConfiguration.Rules).toContainEqual(
      expect.objectContaining({ Status: 'Enabled', NoncurrentVersionExpiration: { NoncurrentDays: 30 }, ExpiredObjectDeleteMarker: true }),
    );
    expect(upload.LoggingConfiguration.DestinationBucketName).toEqual({ Ref: logicalId(stack.storage.logBucket) });
  });

  it.each(['uploadBucket', 'mediaBucket', 'logBucket'] as const)('%s denies requests without TLS', (name) => {
    const bucket = logicalId(stack.storage[name]);
    const [, policy] = ofType('AWS::S3::BucketPolicy').find(([, r]) => r.Properties.Bucket.Ref === bucket)!;
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('has a log bucket that accepts CloudFront logs, is private and encrypted, and acknowledges not logging itself', () => {
    const log = resources[logicalId(stack.storage.logBucket)]!;
    expect(log.Properties.OwnershipControls.Rules[0].ObjectOwnership).toBe('BucketOwnerPreferred');
    expect(log.Properties.PublicAccessBlockConfiguration.BlockPublicAcls).toBe(true);
    expect(log.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(log.Properties.LoggingConfiguration).toBeUndefined();
    expect(log.Metadata.cdk_nag.rules_to_suppress.map((s: { id: string }) => s.id)).toContain('AwsSolutions-S1');
  });

  it('lets only this distribution read the media bucket, and only under img/', () => {
    const media = logicalId(stack.storage.mediaBucket);
    expect(resources[media]!.Properties.PublicAccessBlockConfiguration.RestrictPublicBuckets).toBe(true);
    const [, policy] = ofType('AWS::S3::BucketPolicy').find(([, r]) => r.Properties.Bucket.Ref === media)!;
    const statements = policy.Properties.PolicyDocument.Statement as Record<string, any>[];
    const allows = statements.filter((s) => s.Effect === 'Allow');
    expect(allows).toHaveLength(1);
    expect(allows[0]!.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(allows[0]!.Action).toBe('s3:GetObject');
    expect(JSON.stringify(allows[0]!.Condition.StringEquals['AWS:SourceArn'])).toContain(logicalId(stack.cdn.distribution));
    const deny = statements.find((s) => s.Sid === 'CdnServesImagesOnly')!;
    expect(deny).toMatchObject({ Effect: 'Deny', Principal: { Service: 'cloudfront.amazonaws.com' }, Action: 's3:GetObject' });
    expect(JSON.stringify(deny.NotResource)).toContain('/img/*');
  });

  it('builds the table from functions/definitions.ts TABLE: on demand, PITR, retained', () => {
    const table = resources[logicalId(stack.storage.table)]!;
    expect(table.DeletionPolicy).toBe('Retain');
    expect(table.UpdateReplacePolicy).toBe('Retain');
    const p = table.Properties;
    expect(p.BillingMode).toBe('PAY_PER_REQUEST');
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey.name, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey.name, KeyType: 'RANGE' },
    ]);
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: TABLE.timeToLiveAttribute, Enabled: true });
    expect(p.GlobalSecondaryIndexes).toEqual(
      TABLE.globalSecondaryIndexes.map((g) => ({
        IndexName: g.indexName,
        KeySchema: [
          { AttributeName: g.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: g.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: g.projection },
      })),
    );
    for (const a of [TABLE.partitionKey, TABLE.sortKey, ...TABLE.globalSecondaryIndexes.flatMap((g) => [g.partitionKey, g.sortKey])]) {
      expect(p.AttributeDefinitions).toContainEqual({ AttributeName: a.name, AttributeType: a.type });
    }
  });
});

describe('IAM least privilege', () => {
  it('lets no role or policy write objects to the upload bucket', () => {
    expect(objectWriteGrants(template, logicalId(stack.storage.uploadBucket))).toEqual([]);
  });

  it('has no Action "*", and no Allow with NotAction or NotResource', () => {
    for (const { holder, statement } of policyStatements(template)) {
      expect(asList(statement.Action), holder).not.toContain('*');
      if (statement.Effect === 'Allow') {
        expect(statement.NotAction, holder).toBeUndefined();
        expect(statement.NotResource, holder).toBeUndefined();
      }
    }
  });

  it('uses Resource "*" in identity policies only for X-Ray, which has no resource-level permissions', () => {
    const identity = policyStatements(template).filter((f) => f.type === 'AWS::IAM::Policy' || f.type === 'AWS::IAM::Role');
    for (const { holder, statement } of identity) {
      if (asList(statement.Resource).includes('*')) {
        expect(asList(statement.Action).every((a) => String(a).startsWith('xray:')), holder).toBe(true);
      }
    }
  });

  it('gives the function roles no managed policies', () => {
    for (const fn of [stack.ingest.handler, stack.queryApi.handler]) {
      expect(resources[logicalId(fn.role)]!.Properties.ManagedPolicyArns).toBeUndefined();
    }
  });

  it('lets ingest only read the upload bucket, and write media under img/ and bodies/ only', () => {
    const upload = logicalId(stack.storage.uploadBucket);
    const media = logicalId(stack.storage.mediaBucket);
    const statements = roleStatements(stack.ingest.handler.role);
    const on = (bucket: string) => statements.filter((s) => JSON.stringify(s.Resource).includes(`"${bucket}"`));
    expect(new Set(on(upload).flatMap((s) => asList(s.Action)))).toEqual(new Set(['s3:GetObject', 's3:ListBucket']));
    const mediaWrites = on(media).filter((s) => asList(s.Action).some((a) => /Put|Delete/.test(String(a))));
    for (const s of mediaWrites) {
      for (const r of asList(s.Resource)) expect(JSON.stringify(r)).toMatch(/\/(img|bodies)\/\*"/);
    }
    const deletes = mediaWrites.filter((s) => asList(s.Action).includes('s3:DeleteObject'));
    expect(deletes.flatMap((s) => asList(s.Resource)).map((r) => JSON.stringify(r))).toEqual([expect.stringContaining('/bodies/*')]);
  });

  it('lets the query API only read: table items (no Scan) and the bodies/ prefix', () => {
    const statements = roleStatements(stack.queryApi.handler.role);
    const actions = statements.flatMap((s) => asList(s.Action).map(String));
    for (const write of [...TABLE_WRITE_ACTIONS, 's3:PutObject', 's3:DeleteObject', 'dynamodb:Scan']) {
      expect(actions.some((a) => actionCovers(a, write)), write).toBe(false);
    }
    const s3 = statements.filter((s) => asList(s.Action).some((a) => String(a).startsWith('s3:')));
    expect(s3).toHaveLength(1);
    expect(s3[0]!.Action).toBe('s3:GetObject');
    expect(JSON.stringify(s3[0]!.Resource)).toContain('/bodies/*');
    const dynamo = statements.filter((s) => asList(s.Action).some((a) => String(a).startsWith('dynamodb:')));
    expect(new Set(dynamo.flatMap((s) => asList(s.Action)))).toEqual(new Set(['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query']));
  });
});

describe('media sweeper', () => {
  const fnId = () => logicalId(stack.mediaGc.handler.function);

  it('runs the sweeper once a day, with the grace period and the ingest image settings', () => {
    const rules = ofType('AWS::Events::Rule').filter(([, r]) => r.Properties.Targets?.some((t: any) => JSON.stringify(t.Arn).includes(fnId())));
    expect(rules).toHaveLength(1);
    expect(rules[0]![1].Properties.ScheduleExpression).toBe('rate(1 day)');
    expect(rules[0]![1].Properties.State).toBe('ENABLED');
    const fn = resources[fnId()]!.Properties;
    expect(fn.Timeout).toBe(900);
    expect(fn.Environment.Variables[ENV.MEDIA_GC_GRACE_SECONDS]).toBe(String(7 * 86_400));
    expect(fn.Environment.Variables[ENV.INCOMING_BUCKET]).toBeUndefined();
  });

  it('may delete only under img/ and bodies/, and write only image items of the table', () => {
    const media = logicalId(stack.storage.mediaBucket);
    const statements = roleStatements(stack.mediaGc.handler.role);
    const deletes = statements.filter((s) => asList(s.Action).some((a) => actionCovers(String(a), 's3:DeleteObject')));
    expect(deletes.flatMap((s) => asList(s.Resource)).map((r) => JSON.stringify(r)).sort()).toEqual([
      expect.stringMatching(new RegExp(`${media}.*/bodies/\\*`)),
      expect.stringMatching(new RegExp(`${media}.*/img/\\*`)),
    ]);
    for (const s of statements) expect(asList(s.Action).some((a) => actionCovers(String(a), 's3:PutObject')), JSON.stringify(s)).toBe(false);
    const list = statements.find((s) => asList(s.Action).includes('s3:ListBucket'))!;
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['img/*', 'bodies/*'] } });
    const writes = statements.filter((s) => asList(s.Action).some((a) => TABLE_WRITE_ACTIONS.some((w) => actionCovers(String(a), w))));
    expect(writes).toHaveLength(1);
    expect(writes[0]!.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['IMG#*', 'IMGURL#*'] } });
  });

  it('is the only role that may scan the table', () => {
    const scanners = policyStatements(template).filter(({ statement }) => asList(statement.Action).some((a) => actionCovers(String(a), 'dynamodb:Scan')));
    expect(scanners.map((s) => s.holder)).toEqual([expect.stringMatching(/^MediaGcHandlerRoleDefaultPolicy/)]);
  });
});

describe('ingest', () => {
  const queueProps = () => resources[logicalId(stack.ingest.queue)]!.Properties;
  const fnProps = () => resources[logicalId(stack.ingest.handler.function)]!.Properties;

  it('queues uploads encrypted, with a DLQ after 5 receives', () => {
    const q = queueProps();
    expect(q.SqsManagedSseEnabled).toBe(true);
    expect(q.RedrivePolicy).toEqual({
      deadLetterTargetArn: getAtt(logicalId(stack.ingest.deadLetterQueue), 'Arn'),
      maxReceiveCount: 5,
    });
    expect(resources[logicalId(stack.ingest.deadLetterQueue)]!.Properties.SqsManagedSseEnabled).toBe(true);
  });

  it.each(['queue', 'deadLetterQueue'] as const)('%s denies requests without TLS', (name) => {
    const queue = logicalId(stack.ingest[name]);
    const policy = ofType('AWS::SQS::QueuePolicy').find(([, r]) => r.Properties.Queues.some((q: { Ref: string }) => q.Ref === queue));
    expect(policy?.[1].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });

  it('alarms as soon as the DLQ holds a message', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: getAtt(logicalId(stack.ingest.deadLetterQueue), 'QueueName') }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
  });

  it('drives the function with partial batch failures, batching and a concurrency cap', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: getAtt(logicalId(stack.ingest.queue), 'Arn'),
      FunctionName: { Ref: logicalId(stack.ingest.handler.function) },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: DEFAULT_SETTINGS.ingestBatchSize,
      MaximumBatchingWindowInSeconds: Match.anyValue(),
      ScalingConfig: { MaximumConcurrency: DEFAULT_SETTINGS.ingestMaxConcurrency },
    });
  });

  it('runs Node.js 22 or later, times out well inside the visibility timeout', () => {
    const fn = fnProps();
    expect(Number(/^nodejs(\d+)\.x$/.exec(fn.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
    // The suite runs on the Node.js the functions deploy on (the devDependency `node`).
    expect(fn.Runtime).toBe(`nodejs${process.versions.node.split('.')[0]}.x`);
    expect(fn.MemorySize).toBe(DEFAULT_SETTINGS.ingestMemoryMb);
    expect(fn.Timeout).toBe(DEFAULT_SETTINGS.ingestTimeoutSeconds);
    expect(fn.Timeout).toBeLessThan(queueProps().VisibilityTimeout);
    expect(queueProps().VisibilityTimeout).toBeGreaterThanOrEqual(6 * fn.Timeout);
    expect(fn.TracingConfig).toEqual({ Mode: 'Active' });
    expect(fn.LoggingConfig.LogGroup).toEqual({ Ref: logicalId(stack.ingest.handler.logGroup) });
    expect(resources[logicalId(stack.ingest.handler.logGroup)]!.Properties.RetentionInDays).toBe(DEFAULT_SETTINGS.logRetentionDays);
  });

  it('sets the environment from functions/definitions.ts ENV, MEDIA_BASE_URL being the CDN', () => {
    const env = fnProps().Environment.Variables;
    expect(env[ENV.INCOMING_BUCKET]).toEqual({ Ref: logicalId(stack.storage.uploadBucket) });
    expect(env[ENV.MEDIA_BUCKET]).toEqual({ Ref: logicalId(stack.storage.mediaBucket) });
    expect(env[ENV.TABLE_NAME]).toEqual({ Ref: logicalId(stack.storage.table) });
    expect(env[ENV.DEFAULT_TIMEZONE]).toBe('UTC');
    expect(env[ENV.MEDIA_BASE_URL]).toEqual({ 'Fn::Join': ['', ['https://', getAtt(logicalId(stack.cdn.distribution), 'DomainName')]] });
    // Never in the cloud: it would open the SSRF guard.
    expect(env[ENV.IMAGE_FETCH_ALLOW_PRIVATE_HOSTS]).toBeUndefined();
    expect(env[ENV.S3_ENDPOINT]).toBeUndefined();
    // Powertools drops EMF metrics that have no namespace.
    expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('ArticlePipeline');
  });

  it('notifies the queue of every object created or removed: the handler decides with isArticleKey', () => {
    const notifications = single('Custom::S3BucketNotifications');
    expect(notifications.Properties.BucketName).toEqual({ Ref: logicalId(stack.storage.uploadBucket) });
    const configs = notifications.Properties.NotificationConfiguration.QueueConfigurations as Record<string, any>[];
    // No suffix filter: S3's are case-sensitive, so `Post.Md` (an article locally) would be stored but never processed.
    expect(configs).toEqual([
      { Events: ['s3:ObjectCreated:*'], QueueArn: getAtt(logicalId(stack.ingest.queue), 'Arn') },
      { Events: ['s3:ObjectRemoved:*'], QueueArn: getAtt(logicalId(stack.ingest.queue), 'Arn') },
    ]);
    // So every key the rule calls an article, in any case, reaches the handler, and the rule decides.
    for (const key of ['a/Post.Md', 'b/POST.MARKDOWN', 'c/page.Html', 'd/x.htm']) expect(isArticleKey(key), key).toBe(true);
    for (const key of ['a/photo.JPG', 'b/post.md.bak', 'c/notes.txt']) expect(isArticleKey(key), key).toBe(false);
  });
});

describe('query API', () => {
  it('is an HTTP API whose CORS (the only CORS browsers see) exposes etag and allows If-None-Match', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'HTTP',
      CorsConfiguration: Match.objectLike({
        AllowMethods: Match.arrayEquals(['GET', 'HEAD', 'OPTIONS']),
        AllowOrigins: ['*'],
        AllowHeaders: Match.arrayWith(['if-none-match', 'authorization', 'x-amz-date']),
        ExposeHeaders: ['etag'],
        MaxAge: 86400,
      }),
    });
    // The function sends none of its own (API Gateway would drop them): no CORS setting reaches it.
    const env = stack.resolve((stack.queryApi.handler.function.node.defaultChild as any).environment).variables;
    expect(env).not.toHaveProperty('CORS_ALLOWED_ORIGINS');
  });

  it('routes GET and HEAD on /, /{proxy+}, /admin and /admin/{proxy+} to the function', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(new Set(routes)).toEqual(
      new Set(['GET /', 'HEAD /', 'GET /{proxy+}', 'HEAD /{proxy+}', 'GET /admin', 'HEAD /admin', 'GET /admin/{proxy+}', 'HEAD /admin/{proxy+}']),
    );
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: getAtt(logicalId(stack.queryApi.handler.function), 'Arn'),
      PayloadFormatVersion: '2.0',
    });
  });

  it('authorizes every /admin route with IAM and leaves nothing else there public', () => {
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
    const admin = routes.filter((r) => / \/admin(\/|$)/.test(r.RouteKey));
    expect(admin).toHaveLength(4);
    for (const r of admin) expect(r.AuthorizationType, r.RouteKey).toBe('AWS_IAM');
    // Public routes are anonymous, and none of them is an /admin path.
    for (const r of routes.filter((x) => !admin.includes(x))) {
      expect(r.AuthorizationType ?? 'NONE', r.RouteKey).toBe('NONE');
      expect(r.RouteKey).toMatch(/^(GET|HEAD) \/(\{proxy\+\})?$/);
    }
    // No resource policy or permission opens the operator routes to anyone else.
    expect(ofType('AWS::ApiGatewayV2::Authorizer')).toEqual([]);
  });

  it('throttles the stage and writes JSON access logs to a log group', () => {
    const stage = single('AWS::ApiGatewayV2::Stage');
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: DEFAULT_SETTINGS.apiThrottle.rateLimit,
      ThrottlingBurstLimit: DEFAULT_SETTINGS.apiThrottle.burstLimit,
    });
    const logs = stage.Properties.AccessLogSettings;
    expect(logs.DestinationArn).toEqual(getAtt(logicalId(stack.queryApi.accessLogs), 'Arn'));
    expect(JSON.parse(logs.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
  });

  it('runs a small Node.js 22+ function whose CURSOR_SECRET is a deploy-time reference, never a literal', () => {
    const fn = resources[logicalId(stack.queryApi.handler.function)]!.Properties;
    expect(Number(/^nodejs(\d+)\.x$/.exec(fn.Runtime)?.[1])).toBeGreaterThanOrEqual(22);
    expect(fn.MemorySize).toBe(512);
    const env = fn.Environment.Variables;
    expect(env[ENV.CURSOR_SECRET]).toEqual({
      'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: logicalId(stack.queryApi.cursorSecret) }, ':SecretString:::}}']],
    });
    expect(resources[logicalId(stack.queryApi.cursorSecret)]!.Properties.GenerateSecretString).toMatchObject({ PasswordLength: 64 });
    expect(env[ENV.TABLE_NAME]).toEqual({ Ref: logicalId(stack.storage.table) });
    expect(env[ENV.MEDIA_BUCKET]).toEqual({ Ref: logicalId(stack.storage.mediaBucket) });
    expect(env[ENV.MEDIA_BASE_URL]).toBeDefined();
    // CORS is API Gateway's (functions/api/cors.ts); the public front matter is none by default.
    expect(env[ENV.CORS_ALLOWED_ORIGINS]).toBeUndefined();
    expect(env[ENV.PUBLIC_FRONT_MATTER_KEYS]).toBe('');
    expect(env[ENV.ARTICLE_URL_TEMPLATE]).toBeUndefined(); // context articleUrlTemplate sets it
    expect(env[ENV.INCOMING_BUCKET]).toBeUndefined();
    // Cold start: no source-map parsing for the API (the ingest function keeps it).
    expect(env.NODE_OPTIONS).toBeUndefined();
    expect(resources[logicalId(stack.ingest.handler.function)]!.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
  });
});

describe('media CDN', () => {
  const distribution = () => resources[logicalId(stack.cdn.distribution)]!.Properties.DistributionConfig;

  it('reaches the bucket through Origin Access Control only', () => {
    template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({ OriginAccessControlOriginType: 's3', SigningBehavior: 'always', SigningProtocol: 'sigv4' }),
    });
    const [origin] = distribution().Origins;
    expect(origin.DomainName).toEqual(getAtt(logicalId(stack.storage.mediaBucket), 'RegionalDomainName'));
    expect(origin.OriginAccessControlId).toBeDefined();
    expect(origin.S3OriginConfig).toEqual({ OriginAccessIdentity: '' });
  });

  it('redirects to HTTPS, compresses, caches long, sends security and CORS headers, logs', () => {
    const d = distribution();
    expect(d.DefaultCacheBehavior).toMatchObject({ ViewerProtocolPolicy: 'redirect-to-https', Compress: true, AllowedMethods: ['GET', 'HEAD'] });
    expect(d.DefaultCacheBehavior.ResponseHeadersPolicyId).toBeDefined();
    expect(d.Logging.Bucket).toEqual(getAtt(logicalId(stack.storage.logBucket), 'RegionalDomainName'));

    const cache = single('AWS::CloudFront::CachePolicy');
    expect(cache.Properties.CachePolicyConfig.DefaultTTL).toBeGreaterThanOrEqual(365 * 24 * 3600);
    expect(cache.Properties.CachePolicyConfig.ParametersInCacheKeyAndForwardedToOrigin).toMatchObject({
      EnableAcceptEncodingGzip: true,
      EnableAcceptEncodingBrotli: true,
      QueryStringsConfig: { QueryStringBehavior: 'none' },
      CookiesConfig: { CookieBehavior: 'none' },
    });

    const headers = single('AWS::CloudFront::ResponseHeadersPolicy');
    const cfg = headers.Properties.ResponseHeadersPolicyConfig;
    expect(cfg.SecurityHeadersConfig.StrictTransportSecurity.AccessControlMaxAgeSec).toBeGreaterThanOrEqual(365 * 24 * 3600);
    expect(cfg.SecurityHeadersConfig.ContentTypeOptions).toEqual({ Override: true });
    expect(cfg.SecurityHeadersConfig.FrameOptions).toEqual({ FrameOption: 'DENY', Override: true });
    expect(cfg.SecurityHeadersConfig.ReferrerPolicy.ReferrerPolicy).toBe('strict-origin-when-cross-origin');
    expect(cfg.CorsConfig.AccessControlAllowOrigins.Items).toEqual(['*']);
    expect(cfg.CorsConfig.AccessControlAllowMethods.Items).toEqual(['GET', 'HEAD']);
  });
});

describe('monitoring and outputs', () => {
  it('alarms on ingest errors and API 5xx', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.ingest.handler.function) } }],
    });
  });

  it('alarms on the API 5xx rate over 5 minutes (metric math, a minimum count), not on one error', () => {
    const alarm = template.toJSON().Resources[logicalId(stack.monitoring.apiServerErrorsAlarm)].Properties;
    expect(alarm.MetricName).toBeUndefined();
    expect(alarm).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const byId = Object.fromEntries(alarm.Metrics.map((m: any) => [m.Id, m]));
    expect(byId.expr_1?.Expression ?? alarm.Metrics.find((m: any) => m.Expression).Expression).toBe('IF(requests >= 20, 100 * errors / requests, 0)');
    const api = { Name: 'ApiId', Value: { Ref: logicalId(stack.queryApi.api) } };
    expect(byId.errors.MetricStat).toMatchObject({ Metric: { Namespace: 'AWS/ApiGateway', MetricName: '5xx', Dimensions: [api] }, Period: 300, Stat: 'Sum' });
    expect(byId.requests.MetricStat).toMatchObject({ Metric: { Namespace: 'AWS/ApiGateway', MetricName: 'Count', Dimensions: [api] }, Period: 300, Stat: 'Sum' });
    expect(byId.errors.ReturnData).toBe(false);
  });

  it('creates no alarm topic unless alarmEmail is set', () => {
    template.resourceCountIs('AWS::SNS::Topic', 0);
  });

  it('outputs what a user needs after deploying', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['UploadBucketName', 'ApiUrl', 'MediaUrl', 'DeadLetterQueueUrl', 'DeadLetterQueueArn', 'IngestQueueUrl']),
    );
    expect(outputs.UploadBucketName!.Value).toEqual({ Ref: logicalId(stack.storage.uploadBucket) });
    expect(outputs.DeadLetterQueueUrl!.Value).toEqual({ Ref: logicalId(stack.ingest.deadLetterQueue) });
    expect(JSON.stringify(outputs.ApiUrl!.Value)).toContain(logicalId(stack.queryApi.api));
  });
});
