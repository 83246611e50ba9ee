/**
 * CDK context → settings → template. These synths skip bundling (template only), so
 * they are quick; the security rules still run on every variant.
 */
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV } from '../../functions/definitions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PROJECT_ROOT } from '../../infra/bundling';
import { CONTEXT_KEYS, DEFAULT_SETTINGS, SettingsError, readSettings } from '../../infra/settings';
import { synthPipeline, type Synthesized } from './helpers';

const fromContext = (context: Record<string, unknown>) => readSettings({ tryGetContext: (key: string) => context[key] });

describe('readSettings', () => {
  it('defaults to a dev stage on x86_64 with the functions’ own image defaults', () => {
    const s = fromContext({});
    expect(s).toMatchObject({
      stage: 'dev',
      architecture: 'x86_64',
      defaultTimezone: 'UTC',
      corsAllowedOrigins: ['*'],
      ingestTuning: {},
      ingestMemoryMb: DEFAULT_SETTINGS.ingestMemoryMb,
      ingestMaxConcurrency: DEFAULT_SETTINGS.ingestMaxConcurrency,
      apiThrottle: DEFAULT_SETTINGS.apiThrottle,
    });
    expect(s.apiDomain).toBeUndefined();
    expect(s.mediaDomain).toBeUndefined();
    expect(s.alarmEmail).toBeUndefined();
    expect(s.articleUrlTemplate).toBeUndefined();
  });

  it('takes articleUrlTemplate, checked by the rules of the functions', () => {
    expect(fromContext({ articleUrlTemplate: 'https://example.com/{yyyy}/{slug}/' }).articleUrlTemplate).toBe('https://example.com/{yyyy}/{slug}/');
    expect(() => fromContext({ articleUrlTemplate: 'https://example.com/{year}/' })).toThrow(/ARTICLE_URL_TEMPLATE has an unknown placeholder/);
  });

  it('accepts strings from -c and numbers or arrays from cdk.json', () => {
    const s = fromContext({
      imageWidths: [320, 640],
      imageFormats: 'avif,webp',
      imageMaxBytes: 1000,
      articleMaxBytes: '2048',
      corsAllowedOrigins: ['https://a.example', 'https://b.example:8443'],
      apiThrottleRate: '10',
      apiThrottleBurst: 20,
      ingestMemoryMb: '2048',
      imageFetchHosts: 'img.example.com,cdn.example.org',
    });
    expect(s.ingestTuning).toEqual({
      [ENV.IMAGE_WIDTHS]: '320,640',
      [ENV.IMAGE_FORMATS]: 'avif,webp',
      [ENV.IMAGE_MAX_BYTES]: '1000',
      [ENV.ARTICLE_MAX_BYTES]: '2048',
      [ENV.IMAGE_FETCH_HOSTS]: 'img.example.com,cdn.example.org',
    });
    expect(s.corsAllowedOrigins).toEqual(['https://a.example', 'https://b.example:8443']);
    expect(s.apiThrottle).toEqual({ rateLimit: 10, burstLimit: 20 });
    expect(s.ingestMemoryMb).toBe(2048);
  });

  it('keeps unused media 7 days unless told otherwise', () => {
    expect(fromContext({}).mediaGcGraceSeconds).toBe(7 * 86_400);
    expect(fromContext({ mediaGcGraceSeconds: '86400' }).mediaGcGraceSeconds).toBe(86_400);
  });

  it('never lets context open the SSRF guard', () => {
    const s = fromContext({ imageFetchAllowPrivateHosts: '127.0.0.1:80', IMAGE_FETCH_ALLOW_PRIVATE_HOSTS: '127.0.0.1:80' });
    expect(s.ingestTuning).toEqual({});
  });

  it.each([
    [{ architecture: 'arm' }, /architecture must be x86_64 or arm64/],
    [{ stage: 'Prod!' }, /stage must be/],
    [{ imageFormats: 'gif' }, /IMAGE_FORMATS may list only webp and avif/],
    [{ imageWidths: '10' }, /IMAGE_WIDTHS/],
    [{ defaultTimezone: 'Mars/Olympus' }, /DEFAULT_TIMEZONE must be an IANA time zone/],
    [{ logRetentionDays: 10 }, /logRetentionDays must be one of/],
    [{ ingestMaxConcurrency: 1 }, /ingestMaxConcurrency must be a whole number from 2 to 1000/],
    [{ ingestMemoryMb: '1.5' }, /ingestMemoryMb must be a whole number/],
    [{ ingestTimeoutSeconds: 901 }, /ingestTimeoutSeconds must be a whole number from 10 to 900/],
    [{ alarmEmail: 'ops' }, /alarmEmail is not an e-mail address/],
    // A grace period shorter than an ingest attempt plus a sweep could take what an event still uses.
    [{ mediaGcGraceSeconds: 1000 }, /mediaGcGraceSeconds must be a whole number from 1020 to/],
    [{ ingestTimeoutSeconds: 900, mediaGcGraceSeconds: 1020 }, /mediaGcGraceSeconds must be a whole number from 1800 to/],
    [{ corsAllowedOrigins: 'example.com' }, /corsAllowedOrigins entries/],
    [{ publicFrontMatterKeys: 'title,a b' }, /PUBLIC_FRONT_MATTER_KEYS/],
    [{ apiDomainName: 'api.example.com' }, /apiDomainName and apiCertificateArn must be given together/],
    [{ apiDomainName: 'api.example.com', apiCertificateArn: 'arn:nope' }, /not an ACM certificate ARN/],
    [
      { mediaDomainName: 'media.example.com', mediaCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123' },
      /must be a certificate in us-east-1/,
    ],
  ])('rejects %j', (context, message) => {
    expect(() => fromContext(context)).toThrow(SettingsError);
    expect(() => fromContext(context)).toThrow(message);
  });
});

describe('unknown context keys', () => {
  const withApp = (context: Record<string, unknown>) => () => readSettings(new App({ context }).node);

  it('fail synth, with the closest valid key and the list of valid ones', () => {
    expect(withApp({ imageFormat: 'avif' })).toThrow(SettingsError);
    expect(withApp({ imageFormat: 'avif' })).toThrow(/unknown context key "imageFormat" \(did you mean "imageFormats"\?\); the valid keys are: stage, architecture, .*imageFormats/);
    expect(withApp({ Stage: 'prod', zzz: 1 })).toThrow(/unknown context keys "Stage" \(did you mean "stage"\?\), "zzz";/);
    for (const key of CONTEXT_KEYS) expect(CONTEXT_KEYS.filter((k) => k === key)).toHaveLength(1);
  });

  it("accept every valid key, cdk.json's own context and the CDK's flags and lookups", () => {
    const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')).context as Record<string, unknown>;
    expect(withApp({ ...cdkJson, 'aws:cdk:bundling-stacks': [], 'availability-zones:account=1:region=x': [] })).not.toThrow();
    expect(withApp({ imageFormats: 'avif', ingestBatchSize: 2, sharpModulesDir: '/x' })).not.toThrow();
  });
});

describe('context reaches the template', () => {
  let synth: Synthesized;
  let resources: Record<string, { Type: string; Properties: any }>;
  const only = (type: string) => {
    const found = Object.values(resources).filter((r) => r.Type === type);
    expect(found, type).toHaveLength(1);
    return found[0]!.Properties;
  };
  const ingestFn = () =>
    Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[ENV.INCOMING_BUCKET])!
      .Properties;
  const apiFn = () =>
    Object.values(resources).find((r) => r.Type === 'AWS::Lambda::Function' && r.Properties.Environment?.Variables?.[ENV.CURSOR_SECRET])!
      .Properties;

  beforeAll(() => {
    synth = synthPipeline({
      bundle: false,
      context: {
        stage: 'prod',
        architecture: 'arm64',
        defaultTimezone: 'Asia/Shanghai',
        imageWidths: '320,640',
        imageFormats: 'avif,webp',
        corsAllowedOrigins: 'https://a.example,https://b.example',
        publicFrontMatterKeys: 'subtitle, series',
        apiThrottleRate: 10,
        apiThrottleBurst: 20,
        ingestMemoryMb: 2048,
        ingestMaxConcurrency: 50,
        ingestTimeoutSeconds: 300,
        ingestBatchSize: 2,
        logRetentionDays: 90,
        apiDomainName: 'api.example.com',
        apiCertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
        mediaDomainName: 'media.example.com',
        mediaCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/66666666-7777-8888-9999-000000000000',
        alarmEmail: 'ops@example.com',
      },
    });
    resources = synth.template.toJSON().Resources;
  }, 120_000);
  afterAll(() => synth?.cleanup());

  it('names the stack after the stage', () => {
    expect(synth.stack.stackName).toBe('ArticlePipeline-prod');
  });

  it('passes every check with all options on', () => {
    const annotations = Annotations.fromStack(synth.stack);
    for (const pack of ['AwsSolutions', 'Serverless']) {
      expect(annotations.findError('*', Match.stringLikeRegexp(`${pack}-.*`))).toEqual([]);
      expect(annotations.findWarning('*', Match.stringLikeRegexp(`${pack}-.*`))).toEqual([]);
    }
  });

  it('tunes the ingest function', () => {
    const fn = ingestFn();
    expect(fn.Architectures).toEqual(['arm64']);
    expect(fn.MemorySize).toBe(2048);
    expect(fn.Environment.Variables).toMatchObject({
      [ENV.IMAGE_WIDTHS]: '320,640',
      [ENV.IMAGE_FORMATS]: 'avif,webp',
      [ENV.DEFAULT_TIMEZONE]: 'Asia/Shanghai',
      [ENV.MEDIA_BASE_URL]: 'https://media.example.com',
    });
    expect(fn.Environment.Variables[ENV.IMAGE_MAX_BYTES]).toBeUndefined();
    expect(fn.Timeout).toBe(300);
    const mapping = only('AWS::Lambda::EventSourceMapping');
    expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: 50 });
    expect(mapping.BatchSize).toBe(2);
    const queue = Object.values(resources).find((r) => r.Type === 'AWS::SQS::Queue' && r.Properties.RedrivePolicy)!;
    expect(queue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * 300 + mapping.MaximumBatchingWindowInSeconds);
    for (const group of Object.values(resources).filter((r) => r.Type === 'AWS::Logs::LogGroup')) {
      expect(group.Properties.RetentionInDays).toBe(90);
    }
  });

  it('configures the API: origins, throttling, custom domain with TLS 1.2', () => {
    expect(apiFn().Architectures).toEqual(['arm64']);
    // CORS is the HTTP API's only (API Gateway drops a function's CORS headers).
    expect(apiFn().Environment.Variables[ENV.CORS_ALLOWED_ORIGINS]).toBeUndefined();
    expect(apiFn().Environment.Variables[ENV.PUBLIC_FRONT_MATTER_KEYS]).toBe('subtitle,series');
    expect(only('AWS::ApiGatewayV2::Api').CorsConfiguration.AllowOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(only('AWS::ApiGatewayV2::Stage').DefaultRouteSettings).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    const domain = only('AWS::ApiGatewayV2::DomainName');
    expect(domain.DomainName).toBe('api.example.com');
    expect(domain.DomainNameConfigurations[0]).toMatchObject({
      CertificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
      SecurityPolicy: 'TLS_1_2',
    });
    only('AWS::ApiGatewayV2::ApiMapping');
    const outputs = synth.template.toJSON().Outputs;
    expect(outputs.ApiUrl.Value).toBe('https://api.example.com/');
    expect(outputs.MediaUrl.Value).toBe('https://media.example.com');
    expect(outputs.ApiDomainTarget).toBeDefined();
    expect(outputs.MediaDomainTarget).toBeDefined();
  });

  it('puts the media domain on the CDN with TLSv1.2_2021 and its CORS origins', () => {
    const d = only('AWS::CloudFront::Distribution').DistributionConfig;
    expect(d.Aliases).toEqual(['media.example.com']);
    expect(d.ViewerCertificate).toEqual({
      AcmCertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/66666666-7777-8888-9999-000000000000',
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
    expect(only('AWS::CloudFront::ResponseHeadersPolicy').ResponseHeadersPolicyConfig.CorsConfig.AccessControlAllowOrigins.Items).toEqual([
      'https://a.example',
      'https://b.example',
    ]);
  });

  it('sends every alarm to an encrypted, SSL-only topic with the e-mail subscribed', () => {
    const topic = only('AWS::SNS::Topic');
    expect(topic.KmsMasterKeyId).toBeDefined();
    const key = only('AWS::KMS::Key');
    expect(key.EnableKeyRotation).toBe(true);
    expect(JSON.stringify(key.KeyPolicy)).toContain('cloudwatch.amazonaws.com');
    expect(only('AWS::SNS::TopicPolicy').PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(only('AWS::SNS::Subscription')).toMatchObject({ Protocol: 'email', Endpoint: 'ops@example.com' });
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms.length).toBeGreaterThanOrEqual(4);
    for (const alarm of alarms) expect(alarm.Properties.AlarmActions).toHaveLength(1);
  });
});
