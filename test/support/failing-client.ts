import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dataAttributes, eventAttributes, userAttributes } from '../../lambdas/shared/attributes';

/** The user an item or a key names, whichever table it is of. */
const userIdIn = (attributes: Record<string, unknown> | undefined) =>
  [dataAttributes.userId, userAttributes.userId, eventAttributes.userId]
    .map((name) => attributes?.[name])
    .find((value): value is string => typeof value === 'string');

/**
 * A DynamoDB client that fails on command, for failure-path tests against the real (embedded)
 * DynamoDB: calls on an item of a user in `failures` (puts, updates and gets alike) throw a
 * throttling error, as DynamoDB does under load. The value is how many more calls fail (-1: for
 * ever); everything else passes. `calls` counts every call per user, failed or not.
 */
export function failWritesFor(failures: Map<string, number>, calls = new Map<string, number>()) {
  return (client: DynamoDBDocumentClient): DynamoDBDocumentClient => {
    const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
    return new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { input: { Item?: Record<string, unknown>; Key?: Record<string, unknown> } }, ...rest: unknown[]) => {
          const userId = userIdIn(command.input.Item) ?? userIdIn(command.input.Key);
          if (userId !== undefined) calls.set(userId, (calls.get(userId) ?? 0) + 1);
          const remaining = userId === undefined ? undefined : failures.get(userId);
          if (remaining !== undefined && remaining !== 0) {
            failures.set(userId!, remaining - 1);
            throw Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
              name: 'ProvisionedThroughputExceededException',
            });
          }
          return send(command, ...rest);
        };
      },
    });
  };
}

/** An S3 client whose writes fail while `failing()` says so, as S3 does when it answers 503 SlowDown. */
export function failS3WritesWhile(failing: () => boolean) {
  return (client: S3Client): S3Client => {
    const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
    return new Proxy(client, {
      get(target, property, receiver) {
        if (property !== 'send') return Reflect.get(target, property, receiver);
        return async (command: { constructor: { name: string } }, ...rest: unknown[]) => {
          if (failing() && /Put|Upload/.test(command.constructor.name)) {
            throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
          }
          return send(command, ...rest);
        };
      },
    });
  };
}
