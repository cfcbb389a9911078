import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** The one way this product talks to DynamoDB, so Lambda, the local stack and the tools agree. */
export function createDocumentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: {
      removeUndefinedValues: true,
      // Terra's JSON was already parsed into JS numbers; keep them rather than fail the write.
      allowImpreciseNumbers: true,
    },
    unmarshallOptions: { wrapNumbers: false },
  });
}
