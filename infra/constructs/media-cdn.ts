/**
 * The CDN for re-hosted images: CloudFront in front of the private media bucket through
 * Origin Access Control. HTTPS only, compressed, cached for a year (image keys are
 * content-addressed, so a changed image is a new URL), with security and CORS headers.
 *
 * Only `img/*` is served: the bucket also holds processed bodies, drafts' included, which
 * readers get through the query API alone; a bucket-policy Deny keeps CloudFront out of them.
 */
import { Duration } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { NagSuppressions, type NagPackSuppression } from 'cdk-nag';
import { Construct } from 'constructs';
import { IMAGE_PREFIX } from '../../functions/definitions';
import type { CustomDomain } from '../settings';

export interface MediaCdnProps {
  mediaBucket: s3.IBucket;
  /** Receives CloudFront standard logs; must allow ACLs (see Storage). */
  logBucket: s3.IBucket;
  corsAllowedOrigins: string[];
  domain?: CustomDomain;
}

export class MediaCdn extends Construct {
  readonly distribution: cloudfront.Distribution;
  /** `https://<domain>` without a trailing slash: MEDIA_BASE_URL. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: MediaCdnProps) {
    super(scope, id);

    const cachePolicy = new cloudfront.CachePolicy(this, 'ImmutableCache', {
      comment: 'Content-addressed media: cache for a year, no cookies, headers or query strings',
      minTtl: Duration.days(1),
      defaultTtl: Duration.days(365),
      maxTtl: Duration.days(365),
      cookieBehavior: cloudfront.CacheCookieBehavior.none(),
      headerBehavior: cloudfront.CacheHeaderBehavior.none(),
      queryStringBehavior: cloudfront.CacheQueryStringBehavior.none(),
      enableAcceptEncodingGzip: true,
      enableAcceptEncodingBrotli: true,
    });

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: 'Security headers and CORS for re-hosted images',
      securityHeadersBehavior: {
        strictTransportSecurity: { accessControlMaxAge: Duration.days(730), includeSubdomains: true, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN, override: true },
        // Publishers' images are untrusted input: an SVG opened directly runs no script.
        contentSecurityPolicy: { contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; sandbox", override: true },
      },
      corsBehavior: {
        accessControlAllowOrigins: props.corsAllowedOrigins.includes('*') ? ['*'] : props.corsAllowedOrigins,
        accessControlAllowMethods: ['GET', 'HEAD'],
        accessControlAllowHeaders: ['*'],
        accessControlAllowCredentials: false,
        accessControlMaxAge: Duration.days(1),
        originOverride: true,
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'article-pipeline media',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(props.mediaBucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        compress: true,
        cachePolicy,
        responseHeadersPolicy: headers,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: props.logBucket,
      logFilePrefix: 'cloudfront/media/',
      // The TLS policy can only be chosen with a custom certificate; the default
      // *.cloudfront.net one is fixed by AWS.
      ...(props.domain
        ? {
            domainNames: [props.domain.domainName],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });

    props.mediaBucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CdnServesImagesOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        notResources: [props.mediaBucket.arnForObjects(`${IMAGE_PREFIX}*`)],
      }),
    );

    this.url = `https://${props.domain?.domainName ?? this.distribution.distributionDomainName}`;

    const acknowledgements: NagPackSuppression[] = [
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Published articles are meant for readers everywhere; there is no geography to restrict.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason: 'The CDN serves static, cached, content-addressed images only; WAF has a fixed monthly cost and is left as an opt-in for deployments that need it.',
      },
    ];
    if (!props.domain) {
      acknowledgements.push({
        id: 'AwsSolutions-CFR4',
        reason: 'Without a custom domain the distribution uses the default *.cloudfront.net certificate, whose TLS policy AWS fixes; set mediaDomainName/mediaCertificateArn to get TLSv1.2_2021.',
      });
    }
    NagSuppressions.addResourceSuppressions(this.distribution, acknowledgements);
  }
}
