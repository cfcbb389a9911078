import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { dataAttributes, eventAttributes, userAttributes } from '../../lambdas/shared/attributes';
import { tables } from '../../lambdas/shared/definitions';

/**
 * Clients for the property tests: the real clients to dynalite and fauxqs, with two additions.
 * They record every write (table and key, or S3 key), so a test can check whose keys a delivery
 * touched; and they refuse what AWS refuses but the stand-ins accept, as AWS does (same error
 * names), so a test sees what the consumer would do in AWS:
 * - DynamoDB: index key values over 2,048 bytes (partition) or 1,024 (sort), or empty; maps and
 *   lists nested deeper than 32 levels (dynalite accepts both; nesting a few hundred levels deep
 *   overflows its stack and takes the process down).
 * - S3: keys over 1,024 bytes of UTF-8; user-defined metadata over 2 KB (fauxqs accepts both).
 * Everything within AWS's limits passes to the stand-in untouched.
 */

/** Calls still in flight through the observed clients, so a test can wait for stragglers. */
const inFlight = new Set<Promise<unknown>>();

function tracked<T>(call: Promise<T>): Promise<T> {
  inFlight.add(call);
  const settled = () => inFlight.delete(call);
  call.then(settled, settled);
  return call;
}

/**
 * Resolves once no call through an observed client is in flight: writes a failed delivery left
 * running (its handler already returned) land before the next case starts recording.
 */
export async function quiescent(): Promise<void> {
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
}

export interface ObservedWrite {
  /** The table's local name, or `s3`. */
  target: string;
  command: string;
  /** The `user_id` the write is keyed on, or (terra-events) the one it records. */
  userId?: unknown;
  s3Key?: string;
}

const bytes = (value: unknown) => (typeof value === 'string' ? Buffer.byteLength(value) : 0);

/** Index key attributes per table, with their size limits (DynamoDB's partition and sort key limits). */
const indexKeys: Record<string, Record<string, number>> = Object.fromEntries(
  Object.values(tables).map((table) => [
    table.localName,
    Object.fromEntries(
      table.globalSecondaryIndexes.flatMap((index) => [
        [index.partitionKey.name, 2048],
        ...('sortKey' in index && index.sortKey ? [[index.sortKey.name, 1024]] : []),
      ]),
    ),
  ]),
);

/** DynamoDB's documented nesting limit for maps and lists. */
const maxNesting = 32;

/** Depth of nested objects and arrays, counted without recursion; stops counting past `cap`. */
export function nestingDepth(value: unknown, cap = Infinity): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object' || ArrayBuffer.isView(node) || node instanceof Set) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > cap) return deepest;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return deepest;
}

const validation = (message: string) =>
  Object.assign(new Error(message), { name: 'ValidationException', $fault: 'client', $metadata: { httpStatusCode: 400 } });

/** `#name = :value` pairs of an UpdateExpression's SET clause, by attribute name. */
function updatedValues(input: {
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}) {
  const values: Record<string, unknown> = {};
  for (const [, name, value] of (input.UpdateExpression ?? '').matchAll(/(#\w+)\s*=\s*(?:if_not_exists\(\s*#\w+\s*,\s*)?(:\w+)/g)) {
    values[input.ExpressionAttributeNames?.[name] ?? name] = input.ExpressionAttributeValues?.[value];
  }
  return values;
}

function refuseWhatAwsRefuses(table: string, attributes: Record<string, unknown>) {
  for (const [name, limit] of Object.entries(indexKeys[table] ?? {})) {
    const value = attributes[name];
    if (value === undefined) continue;
    if (value === '')
      throw validation(
        `One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. IndexName: ${name}`,
      );
    if (bytes(value) > limit)
      throw validation(
        `One or more parameter values were invalid: Size of ${name} (an index key) has exceeded the maximum size limit of ${limit} bytes`,
      );
  }
  for (const value of Object.values(attributes)) {
    if (nestingDepth(value, maxNesting + 1) > maxNesting) {
      // The SDK marshals first: what it cannot marshal fails there, in AWS as here.
      marshall({ value }, { removeUndefinedValues: true, allowImpreciseNumbers: true });
      throw validation('Nesting Levels have exceeded supported limits');
    }
  }
}

/** A document client command's input, as far as these checks read it. */
interface DocumentCommandInput {
  TableName?: string;
  Item?: Record<string, unknown>;
  Key?: Record<string, unknown>;
  UpdateExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/** The user an item, a key or an update names, whichever table it is of. */
const userIdIn = (attributes: Record<string, unknown> | undefined) =>
  [dataAttributes.userId, userAttributes.userId, eventAttributes.userId]
    .map((name) => attributes?.[name])
    .find((value) => value !== undefined);

export function observeDynamoDb(client: DynamoDBDocumentClient, writes: ObservedWrite[]): DynamoDBDocumentClient {
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (command: { constructor: { name: string }; input: DocumentCommandInput }, ...rest: unknown[]) => {
        const { input } = command;
        const name = command.constructor.name.replace(/Command$/, '');
        if (name === 'Put' || name === 'Update') {
          // A put or an update always names its table, and a put its item.
          const values = name === 'Put' ? input.Item! : { ...input.Key, ...updatedValues(input) };
          const userId = name === 'Put' ? userIdIn(input.Item) : (userIdIn(input.Key) ?? userIdIn(values));
          writes.push({ target: input.TableName!, command: name, userId });
          refuseWhatAwsRefuses(input.TableName!, values);
        } else if (!['Get', 'Query', 'Scan'].includes(name)) {
          writes.push({ target: input.TableName ?? '(batch)', command: name });
        }
        return tracked(send(command, ...rest));
      };
    },
  });
}

/** As S3 answers; `Key` says which write it refused. */
const s3Error = (name: string, message: string, key: string | undefined) =>
  Object.assign(new Error(message), { name, Key: key, $fault: 'client', $metadata: { httpStatusCode: 400 } });

export function observeS3(client: S3Client, writes: ObservedWrite[]): S3Client {
  const send = client.send.bind(client) as (...args: unknown[]) => Promise<unknown>;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'send') return Reflect.get(target, property, receiver);
      return async (
        command: { constructor: { name: string }; input: { Key?: string; Metadata?: Record<string, string> } },
        ...rest: unknown[]
      ) => {
        const name = command.constructor.name.replace(/Command$/, '');
        const { Key: key, Metadata: metadata } = command.input;
        if (['PutObject', 'CreateMultipartUpload', 'DeleteObject', 'CopyObject'].includes(name)) {
          writes.push({ target: 's3', command: name, s3Key: key });
          if (bytes(key) > 1024) throw s3Error('KeyTooLongError', 'Your key is too long', key);
          const metadataBytes = Object.entries(metadata ?? {}).reduce((sum, [field, value]) => sum + bytes(field) + bytes(value), 0);
          if (metadataBytes > 2048)
            throw s3Error('MetadataTooLarge', 'Your metadata headers exceed the maximum allowed metadata size', key);
        }
        return tracked(send(command, ...rest));
      };
    },
  });
}
