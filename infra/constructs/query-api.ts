/**
 * The read-only query API: an HTTP API (API Gateway v2) in front of a small Lambda that
 * may only read the table and the processed bodies. Public routes are anonymous; the
 * operator routes (`/admin`, `/admin/{proxy+}`) take IAM authorization (SigV4, service
 * execute-api), so API Gateway refuses an unsigned or unauthorized call before the
 * function runs (and the function checks the IAM context again). CORS is configured
 * here and only here (functions/api/cors.ts): API Gateway answers preflight itself and
 * replaces a function's CORS headers.
 *
 * The cursor HMAC key is a Secrets Manager secret generated at deploy time. The template
 * holds only a `{{resolve:secretsmanager:...}}` dynamic reference; CloudFormation puts the
 * value into CURSOR_SECRET when it deploys the function, so the code reads a plain env
 * var and needs no Secrets Manager client or cold-start call. Trade-off: whoever may call
 * lambda:GetFunctionConfiguration can read it, and a new value takes a redeploy. Forging
 * a cursor only moves a reader within the same public listing, so that is acceptable.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
import { CORS } from '../../functions/api/cors';
import { BODY_PREFIX, ENV } from '../../functions/definitions';
import type { CustomDomain } from '../settings';
import { tableActions } from './permissions';
import { PipelineFunction } from './pipeline-function';

export interface QueryApiProps {
  table: dynamodb.ITable;
  mediaBucket: s3.IBucket;
  mediaBaseUrl: string;
  defaultTimezone: string;
  corsAllowedOrigins: string[];
  /** Front-matter keys the public article shows (PUBLIC_FRONT_MATTER_KEYS); default none. */
  publicFrontMatterKeys?: string[];
  /** ARTICLE_URL_TEMPLATE (feeds and sitemap link with it); unset: left out. */
  articleUrlTemplate?: string;
  throttle: { rateLimit: number; burstLimit: number };
  domain?: CustomDomain;
  architecture: lambda.Architecture;
  logRetentionDays: number;
}

/** HTTP API access-log fields (JSON, one object per request). */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  requestTime: '$context.requestTime',
  method: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationError: '$context.integrationErrorMessage',
  userAgent: '$context.identity.userAgent',
};

export class QueryApi extends Construct {
  readonly api: apigw.HttpApi;
  readonly stage: apigw.HttpStage;
  readonly handler: PipelineFunction;
  readonly accessLogs: logs.LogGroup;
  readonly cursorSecret: secretsmanager.Secret;
  /** https URL of the API (the custom domain when one is configured). */
  readonly url: string;
  readonly domainName?: apigw.DomainName;

  constructor(scope: Construct, id: string, props: QueryApiProps) {
    super(scope, id);

    this.cursorSecret = new secretsmanager.Secret(this, 'CursorSecret', {
      description: 'article-pipeline: HMAC key for query API page cursors',
      generateSecretString: { passwordLength: 64, excludePunctuation: true, includeSpace: false },
      // Losing it only invalidates outstanding page cursors.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    NagSuppressions.addResourceSuppressions(this.cursorSecret, [
      {
        id: 'AwsSolutions-SMG4',
        reason:
          'The value is resolved into the function configuration at deploy time, so rotation without a redeploy would change nothing; a new key only invalidates outstanding page cursors.',
      },
    ]);

    this.handler = new PipelineFunction(this, 'Handler', {
      entry: 'functions/api/handler.ts',
      description: 'article-pipeline query API',
      architecture: props.architecture,
      memorySize: 512,
      timeout: Duration.seconds(10),
      sourceMaps: false,
      logRetentionDays: props.logRetentionDays,
      environment: {
        [ENV.TABLE_NAME]: props.table.tableName,
        [ENV.MEDIA_BUCKET]: props.mediaBucket.bucketName,
        [ENV.MEDIA_BASE_URL]: props.mediaBaseUrl,
        [ENV.DEFAULT_TIMEZONE]: props.defaultTimezone,
        [ENV.PUBLIC_FRONT_MATTER_KEYS]: (props.publicFrontMatterKeys ?? []).join(','),
        ...(props.articleUrlTemplate ? { [ENV.ARTICLE_URL_TEMPLATE]: props.articleUrlTemplate } : {}),
        [ENV.CURSOR_SECRET]: this.cursorSecret.secretValue.unsafeUnwrap(),
      },
    });
    this.handler.role.addToPrincipalPolicy(tableActions(props.table, 'read'));
    this.handler.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [props.mediaBucket.arnForObjects(`${BODY_PREFIX}*`)] }),
    );

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      description: 'article-pipeline query API (read-only)',
      createDefaultStage: false,
      corsPreflight: {
        allowOrigins: props.corsAllowedOrigins.includes('*') ? ['*'] : props.corsAllowedOrigins,
        allowMethods: CORS.allowMethods.map((m) => apigw.CorsHttpMethod[m]),
        allowHeaders: [...CORS.allowHeaders],
        exposeHeaders: [...CORS.exposeHeaders],
        maxAge: Duration.seconds(CORS.maxAgeSeconds),
      },
    });
    const integration = new HttpLambdaIntegration('Lambda', this.handler.function);
    const methods = [apigw.HttpMethod.GET, apigw.HttpMethod.HEAD];
    // Public: anonymous readers of published articles.
    for (const path of ['/', '/{proxy+}']) this.api.addRoutes({ path, methods, integration });
    // Operators: IAM only. API Gateway picks the most specific route, so /admin/... never falls to /{proxy+}.
    const iamAuthorizer = new HttpIamAuthorizer();
    for (const path of ['/admin', '/admin/{proxy+}']) this.api.addRoutes({ path, methods, integration, authorizer: iamAuthorizer });

    if (props.domain) {
      this.domainName = new apigw.DomainName(this, 'Domain', {
        domainName: props.domain.domainName,
        certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
        securityPolicy: apigw.SecurityPolicy.TLS_1_2,
      });
    }

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stage = this.api.addStage('Stage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle,
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
      domainMapping: this.domainName ? { domainName: this.domainName } : undefined,
    });

    this.url = props.domain ? `https://${props.domain.domainName}/` : this.stage.url;

    NagSuppressions.addResourceSuppressions(
      this.api,
      [
        {
          id: 'AwsSolutions-APIG4',
          reason: 'A public, read-only content API by design: it serves published articles to anonymous readers. The operator routes (/admin/*) have IAM authorization; writing happens only through IAM-authorized S3 uploads.',
        },
      ],
      true,
    );
  }
}
