/**
 * The DynamoDB document client (ingest, the sweeper, the scripts; the query API reads over
 * signed HTTP instead: dynamo-http.ts), and `ifConditionHolds`. clients.ts re-exports the client.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function createDocumentClient(cfg: { dynamodbEndpoint?: string }): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    ...(cfg.dynamodbEndpoint ? { endpoint: cfg.dynamodbEndpoint } : {}),
    maxAttempts: 5,
    // A request that never gets an answer is abandoned and retried, not waited on until the
    // Lambda times out (the SDK's default idle timeout for DynamoDB is 5 minutes).
    requestHandler: { connectionTimeout: 3_000, socketTimeout: 5_000 },
  });
  return DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** Awaits a conditional write: false when its condition did not hold, other errors thrown. */
export async function ifConditionHolds(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if ((err as { name?: string })?.name === 'ConditionalCheckFailedException') return false;
    throw err;
  }
}
