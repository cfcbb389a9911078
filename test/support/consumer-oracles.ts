import { dataAttributes, userAttributes } from '../../lambdas/shared/attributes';
import { eventItemKey, readEventItem, readRecordItem, userItemKey } from '../../lambdas/shared/table-items';
import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { tables } from '../../lambdas/shared/definitions';
import { readRecord } from '../../lambdas/shared/record-payload';
import type { ObservedWrite } from './aws-limits';

/**
 * What the consumer's property test checks after each delivery, written from the data contract
 * (README, "Data model"), not from the consumer's code: whose keys it wrote, and whether the body
 * was stored as sent or kept with a reason.
 */

export interface Stores {
  documentClient: DynamoDBDocumentClient;
  s3: S3Client;
  tableNames: { data: string; users: string; events: string };
}

export const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');
const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);

/** The user ids a body names as its own, read as JSON.parse reads it, own properties only. */
export function ownUserIds(body: Buffer): Set<string> {
  const ids = new Set<string>();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return ids;
  }
  if (!isObject(parsed)) return ids;
  for (const field of ['user', 'new_user', 'old_user']) {
    const holder = Object.hasOwn(parsed, field) ? parsed[field] : undefined;
    if (isObject(holder) && Object.hasOwn(holder, 'user_id') && typeof holder.user_id === 'string') ids.add(holder.user_id);
  }
  return ids;
}

/**
 * Every write keyed on (or recording) a user id is one of `allowed`; no key names the victim.
 * Per-user S3 prefixes (`records/<user>/`, `archive-index/<user>/`, which erasing a user lists)
 * name the user URI-encoded, or, for an id too long for a key, by `#<sha256>`.
 */
export function strayWrites(observed: readonly ObservedWrite[], allowed: ReadonlySet<string>, victim: string): string[] {
  const prefixes = new Set([...allowed].flatMap((userId) => [encodeURIComponent(userId), `#${sha256(Buffer.from(userId))}`]));
  const stray: string[] = [];
  for (const write of observed) {
    if (write.target === 's3') {
      const key = write.s3Key ?? '';
      const [prefix, segment] = key.split('/');
      if ((prefix === 'records' || prefix === 'archive-index') && !prefixes.has(segment))
        stray.push(`s3 ${key.slice(0, 200)}: under the prefix of user "${segment.slice(0, 100)}"`);
      if (key.includes(victim)) stray.push(`s3 ${key.slice(0, 200)}: names ${victim}`);
      continue;
    }
    // A kept event need not name a user; every other write is keyed on one.
    if (write.userId === undefined && write.target === tables.events.localName) continue;
    if (typeof write.userId !== 'string' || !allowed.has(write.userId)) {
      stray.push(`${write.command} ${write.target}: under user ${JSON.stringify(write.userId)?.slice(0, 100)}`);
    }
  }
  return stray;
}

const keptOutcomes = ['recorded', 'unknown_type', 'invalid', 'unparseable', 'rejected_by_storage', 'ping_fetch_failed'];

/** Text emitted as is by `canonical`. */
class Token {
  constructor(readonly text: string) {}
}

/**
 * JSON with sorted keys, as JSON.stringify writes values (an infinite number as null), ill-formed
 * UTF-16 repaired; without recursion, so a record nested thousands of levels deep is compared too.
 */
function canonical(root: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item instanceof Token) out.push(item.text);
    else if (typeof item === 'string') out.push(JSON.stringify(Buffer.from(item, 'utf8').toString('utf8')));
    else if (item === null || typeof item !== 'object') out.push(JSON.stringify(item) ?? 'null');
    else {
      const entries = Array.isArray(item)
        ? item.map((value) => [undefined, value] as const)
        : Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      const parts: unknown[] = [new Token(Array.isArray(item) ? '[' : '{')];
      entries.forEach(([key, value], index) => {
        if (index > 0) parts.push(new Token(','));
        if (key !== undefined) parts.push(new Token(`${JSON.stringify(Buffer.from(key, 'utf8').toString('utf8'))}:`));
        parts.push(value);
      });
      parts.push(new Token(Array.isArray(item) ? ']' : '}'));
      stack.push(...parts.reverse());
    }
  }
  return out.join('');
}

/** The records a body carries, as JSON.parse reads them: what a stored payload must equal. */
function recordsOf(body: Buffer): Set<string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return new Set();
  }
  const data = isObject(parsed) ? parsed.data : undefined;
  const records = [...(Array.isArray(data) ? data : []), ...(isObject(parsed) && Object.hasOwn(parsed, 'athlete') ? [parsed.athlete] : [])];
  return new Set(records.map(canonical));
}

/**
 * What became of a body: kept (with an outcome and a reason), stored (items of its own users
 * written from it), or both; `problem` when it is neither, or a stored record under the case's
 * own user ids is not the record as sent. Ids outside the namespace are shared between cases,
 * whose stored copies may legitimately mix (enrichment, deletes): their payloads are not compared.
 */
export async function storedOrKept(
  { documentClient, s3, tableNames }: Stores,
  body: Buffer,
  allowed: ReadonlySet<string>,
  ns: string,
): Promise<{ problem?: string; seen: string[] }> {
  const fail = (problem: string) => ({ problem, seen });
  const hash = sha256(body);
  const seen: string[] = [];
  const { Item: keptItem } = await documentClient.send(
    new GetCommand({ TableName: tableNames.events, Key: eventItemKey(hash), ConsistentRead: true }),
  );
  if (keptItem) {
    const kept = readEventItem(keptItem);
    if (!keptOutcomes.includes(String(kept.outcome))) return fail(`kept with outcome ${kept.outcome}`);
    if (kept.reason === undefined || kept.reason.trim() === '') return fail(`kept as ${kept.outcome} without a reason`);
    seen.push(`kept ${kept.outcome}`);
    if (kept.reason.includes('nested deeper')) seen.push('a record refused as nested too deep');
  }
  const records = recordsOf(body);
  // A key DynamoDB cannot hold can hold nothing: only the others are looked up.
  for (const userId of [...allowed].filter((id) => id !== '' && Buffer.byteLength(id) <= 2048)) {
    const { Item: user } = await documentClient.send(
      new GetCommand({ TableName: tableNames.users, Key: userItemKey(userId), ConsistentRead: true }),
    );
    if (user?.[userAttributes.bodySha256] === hash) seen.push('stored user');
    const { Items = [] } = await documentClient.send(
      new QueryCommand({
        TableName: tableNames.data,
        KeyConditionExpression: '#user_id = :u',
        FilterExpression: '#body_sha256 = :h',
        ExpressionAttributeNames: { '#user_id': dataAttributes.userId, '#body_sha256': dataAttributes.bodySha256 },
        ExpressionAttributeValues: { ':u': userId, ':h': hash },
        ConsistentRead: true,
      }),
    );
    for (const item of Items) {
      const { recordId, form } = readRecordItem(item);
      seen.push(`stored ${form}`);
      if (userId.includes(ns) && !records.has(canonical(await readRecord(item, s3)))) {
        return fail(`${recordId.slice(0, 100)} (${form}) is not the record as sent`);
      }
    }
  }
  return seen.length > 0 ? { seen } : fail('neither stored nor kept');
}
