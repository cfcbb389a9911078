import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * A DynamoDB client that fails on command, for failure-path tests against the real (embedded)
 * DynamoDB: writes of an item for a user in `failures` throw a throttling error, as DynamoDB does
 * under load. The value is how many more writes fail (-1: for ever); everything else passes.
 */
export function failWritesFor(failures: Map<string, number>) {
  return (client: DynamoDBDocumentClient): DynamoDBDocumentClient => {
    const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
    return new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { input: { Item?: { user_id?: string } } }, ...rest: unknown[]) => {
          const userId = command.input.Item?.user_id;
          const remaining = userId === undefined ? undefined : failures.get(userId);
          if (remaining !== undefined && remaining !== 0) {
            failures.set(userId!, remaining - 1);
            throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ProvisionedThroughputExceededException' });
          }
          return send(command, ...rest);
        };
      },
    });
  };
}
