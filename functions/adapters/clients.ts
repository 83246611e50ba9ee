/**
 * AWS SDK clients built from configuration. The only difference between Lambda and the
 * local stack is here: endpoints (and path-style addressing for the S3 emulator).
 */
import { S3Client } from '@aws-sdk/client-s3';

export { createDocumentClient } from './dynamo-client';

export interface EndpointConfig {
  s3Endpoint?: string;
  dynamodbEndpoint?: string;
}

export function createS3Client(cfg: EndpointConfig): S3Client {
  return new S3Client({
    ...(cfg.s3Endpoint ? { endpoint: cfg.s3Endpoint, forcePathStyle: true } : {}),
    maxAttempts: 5,
    // Without these the S3 client waits forever on a request that never gets an answer.
    // An idle timeout, not a total one: large bodies take as long as they take.
    requestHandler: { connectionTimeout: 3_000, socketTimeout: 10_000 },
  });
}
