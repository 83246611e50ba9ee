/**
 * Where data lives: the upload bucket publishers write to, the media bucket the
 * pipeline writes (served only through CloudFront), the article index table, and a
 * log bucket for S3 server access logs and CloudFront logs.
 *
 * Encryption is S3-managed (SSE-S3) everywhere: S3 event notifications can reach an
 * SSE-SQS queue and CloudFront can read the media bucket through OAC without any key
 * policy, nothing here needs key-level separation of duties, and SSE-KMS would add a
 * KMS call (cost, throttling) to every upload, image write and image miss. S3 server
 * access logging only supports SSE-S3 on its target bucket anyway.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { NagSuppressions } from 'cdk-nag';
import { TABLE } from '../../functions/definitions';

export interface StorageProps {
  /** Days to keep noncurrent versions of uploads (overwritten or deleted articles). */
  noncurrentVersionDays?: number;
  /** Days to keep access logs. */
  accessLogDays?: number;
}

const secureBucketDefaults = {
  encryption: s3.BucketEncryption.S3_MANAGED,
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  removalPolicy: RemovalPolicy.RETAIN,
} satisfies s3.BucketProps;

/** The table exactly as functions/definitions.ts describes it (the local stack uses the same). */
function attribute(a: { name: string; type: 'S' | 'N' | 'B' }): dynamodb.Attribute {
  const types = { S: dynamodb.AttributeType.STRING, N: dynamodb.AttributeType.NUMBER, B: dynamodb.AttributeType.BINARY };
  return { name: a.name, type: types[a.type] };
}

export class Storage extends Construct {
  readonly logBucket: s3.Bucket;
  readonly uploadBucket: s3.Bucket;
  readonly mediaBucket: s3.Bucket;
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StorageProps = {}) {
    super(scope, id);

    this.logBucket = new s3.Bucket(this, 'LogBucket', {
      ...secureBucketDefaults,
      // CloudFront standard logging writes through bucket ACLs, which BucketOwnerEnforced
      // disables; BucketOwnerPreferred keeps ACLs working and the log objects ours.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ id: 'expire-logs', expiration: Duration.days(props.accessLogDays ?? 90) }],
    });
    NagSuppressions.addResourceSuppressions(this.logBucket, [
      {
        id: 'AwsSolutions-S1',
        reason: 'This is the access-log destination for the other buckets and CloudFront; logging it into itself would log every log delivery.',
      },
    ]);

    this.uploadBucket = new s3.Bucket(this, 'UploadBucket', {
      ...secureBucketDefaults,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Versioning keeps an overwritten or deleted article recoverable for a while.
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-noncurrent',
          noncurrentVersionExpiration: Duration.days(props.noncurrentVersionDays ?? 30),
          // A delete leaves a marker; once its old versions expire, the lone marker goes too.
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/upload/',
    });

    this.mediaBucket = new s3.Bucket(this, 'MediaBucket', {
      ...secureBucketDefaults,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // Everything here is derived from the (versioned) uploads and can be rebuilt;
      // images are content-addressed, so old versions would only keep unreachable bytes.
      versioned: false,
      lifecycleRules: [{ id: 'abort-multipart', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 's3/media/',
    });

    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: attribute(TABLE.partitionKey),
      sortKey: attribute(TABLE.sortKey),
      timeToLiveAttribute: TABLE.timeToLiveAttribute,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // The index can be rebuilt from the upload bucket, but not quickly: keep it.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const gsi of TABLE.globalSecondaryIndexes) {
      this.table.addGlobalSecondaryIndex({
        indexName: gsi.indexName,
        partitionKey: attribute(gsi.partitionKey),
        sortKey: attribute(gsi.sortKey),
        projectionType: dynamodb.ProjectionType[gsi.projection],
      });
    }
  }
}
