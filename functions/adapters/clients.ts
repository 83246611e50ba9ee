/**
 * AWS SDK clients built from configuration. The only difference between Lambda and the
 * local stack is here: endpoints (and path-style addressing for the S3 emulator).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';

export interface EndpointConfig {
  s3Endpoint?: string;
  dynamodbEndpoint?: string;
}

export function createDocumentClient(cfg: EndpointConfig): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(cfg.dynamodbEndpoint ? { endpoint: cfg.dynamodbEndpoint } : {}),
    maxAttempts: 5,
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

export function createS3Client(cfg: EndpointConfig): S3Client {
  return new S3Client({
    ...(cfg.s3Endpoint ? { endpoint: cfg.s3Endpoint, forcePathStyle: true } : {}),
    maxAttempts: 5,
  });
}
