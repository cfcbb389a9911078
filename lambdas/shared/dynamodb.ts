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
    // A stored number beyond 2^53 would otherwise come back as a BigInt, which JSON.stringify
    // refuses: read it as the nearest JS number, as Terra's JSON was parsed in the first place.
    unmarshallOptions: { wrapNumbers: (value: string) => Number(value) },
  });
}
