import type { S3Client } from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { messageAttributes } from '../../../lambdas/shared/definitions';
import { getObject } from '../../../lambdas/shared/s3';
import { localPairs, stackDeadLetterQueues } from '../redrive-queues';
import type { DeadLetterFacts, DeadLetterMessage } from './facts';

/**
 * One user's messages in the stack's dead-letter queues, looked at without consuming them: each
 * is received with a short visibility timeout (so one pass sees every message once), then made
 * visible again at once (ChangeMessageVisibility to 0). A message this misses to hand back is
 * visible again after `peekVisibilitySeconds` anyway: a dead-letter queue has no consumer, and a
 * redrive running meanwhile leaves it for the next one.
 */

export const peekVisibilitySeconds = 60;

/** Claim-checked bodies (1 to 6 MB each) read per run, across queues. */
export const claimCheckReads = 25;

export interface DeadLetterQueue {
  /** The door, as `npm run redrive` names it. */
  name: string;
  url: string;
}

/** How redrive-queues.ts names the erase-on-deauth pair: its messages are erase requests, not deliveries. */
const erasureQueueName = 'erase on deauth';

export const holdsOf = (queue: DeadLetterQueue): DeadLetterFacts['holds'] =>
  queue.name === erasureQueueName ? 'erase requests' : 'deliveries';

/**
 * Every dead-letter queue of the stack, as `npm run redrive` finds them: the webhook's, Terra's SQS
 * and S3 destinations' (always there locally), and erase on deauth's where it is on.
 */
export async function deadLetterQueues(sqs: SQSClient, stack?: { name: string; region?: string }): Promise<DeadLetterQueue[]> {
  if (stack)
    return (await stackDeadLetterQueues(stack.name, stack.region)).map((pair) => ({ name: pair.name, url: pair.deadLetterQueueUrl }));
  const queues = await Promise.all(
    localPairs.map(async (pair) => {
      try {
        return { name: pair.name, url: (await sqs.send(new GetQueueUrlCommand({ QueueName: pair.deadLetter }))).QueueUrl! };
      } catch (error) {
        // Erase on deauth's queues exist only when the local stack runs with it.
        if ('optional' in pair && pair.optional) return undefined;
        throw error;
      }
    }),
  );
  return queues.filter((queue): queue is DeadLetterQueue => queue !== undefined);
}

const idOf = (value: unknown): string | undefined => {
  const id = (value as { user_id?: unknown } | null | undefined)?.user_id;
  return typeof id === 'string' ? id : undefined;
};

/**
 * Whether a message body names the user, and its type. A Terra event names it as `user.user_id`
 * (`new_user`/`old_user` in a user_reauth; some SQS-destination messages carry `user_id`); an S3
 * notification of Terra's S3 destination names it in the object key, `…/<user_id>-<time>.json`
 * (docs/terra.md §10). A Ping (`s3_payload`) names no one.
 */
export function bodyNamesUser(body: string, userId: string): { named: boolean; type?: string; via: DeadLetterMessage['via'] } {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { named: false, via: 'body' };
  }
  if (Array.isArray(parsed?.Records)) {
    for (const record of parsed.Records as { s3?: { object?: { key?: string } } }[]) {
      const raw = record.s3?.object?.key;
      if (!raw) continue;
      const parts = decodeURIComponent(raw.replace(/\+/g, ' ')).split('/');
      const name = parts.at(-1)!;
      // User ids hold hyphens too: what follows the id must be the time, an ISO date or epoch digits.
      if (name.startsWith(`${userId}-`) && /^(\d{4}-\d{2}-\d{2}|\d{9,})/.test(name.slice(userId.length + 1))) {
        return { named: true, type: parts.at(-2), via: 's3 key' };
      }
    }
    return { named: false, via: 's3 key' };
  }
  const ids = [idOf(parsed?.user), idOf(parsed?.new_user), idOf(parsed?.old_user), idOf(parsed)];
  // An erase request (lambdas/consumer/erase-request.ts) has no type: its trigger says what asked for it.
  const type =
    typeof parsed?.type === 'string' ? parsed.type : typeof parsed?.trigger === 'string' ? `erase request (${parsed.trigger})` : undefined;
  return { named: ids.includes(userId), type, via: 'body' };
}

export interface PeekOptions {
  userId: string;
  /** Reads claim-checked bodies. */
  s3: S3Client;
  /** Messages examined per queue at most. */
  max: number;
  /** Shared across queues: claim-checked bodies still allowed to be read. */
  claimChecks: { left: number };
  /** 0 locally; in AWS a short poll asks only some servers, so may find nothing while messages remain. */
  waitTimeSeconds: number;
}

async function bodyOf(message: Message, options: PeekOptions): Promise<{ body?: string; claimCheck: boolean }> {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  const claimCheck = attribute(messageAttributes.bodyS3);
  if (claimCheck) {
    if (options.claimChecks.left <= 0) return { claimCheck: true };
    options.claimChecks.left--;
    try {
      return { body: (await getObject(options.s3, claimCheck)).body.toString('utf8'), claimCheck: true };
    } catch {
      // Expired (deliveries/ lives 15 days) or not readable with these credentials.
      return { claimCheck: true };
    }
  }
  const raw = message.Body ?? '';
  return {
    body: attribute(messageAttributes.bodyEncoding) === 'base64' ? Buffer.from(raw, 'base64').toString('utf8') : raw,
    claimCheck: false,
  };
}

async function handBack(sqs: SQSClient, queueUrl: string, handles: string[]): Promise<void> {
  for (let start = 0; start < handles.length; start += 10) {
    const entries = handles
      .slice(start, start + 10)
      .map((handle, index) => ({ Id: String(index), ReceiptHandle: handle, VisibilityTimeout: 0 }));
    // A failure leaves those messages hidden for peekVisibilitySeconds at most, then they reappear.
    await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries })).catch(() => undefined);
  }
}

export async function peekDeadLetters(sqs: SQSClient, queue: DeadLetterQueue, options: PeekOptions): Promise<DeadLetterFacts> {
  const facts: DeadLetterFacts = {
    queue: queue.name,
    holds: holdsOf(queue),
    examined: 0,
    capped: false,
    messages: [],
    unreadClaimChecks: 0,
  };
  try {
    const { Attributes = {} } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    facts.approximateTotal = Number(Attributes.ApproximateNumberOfMessages ?? 0);
  } catch (error) {
    return { ...facts, error: (error as Error).message };
  }
  const handles: string[] = [];
  const seen = new Set<string>();
  try {
    for (let emptyReads = 0; facts.examined < options.max; ) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: Math.min(10, options.max - facts.examined),
          VisibilityTimeout: peekVisibilitySeconds,
          WaitTimeSeconds: options.waitTimeSeconds,
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['SentTimestamp'],
        }),
      );
      if (Messages.length === 0) {
        if (facts.examined >= facts.approximateTotal || ++emptyReads >= 3) break;
        continue;
      }
      emptyReads = 0;
      for (const message of Messages) {
        if (message.ReceiptHandle) handles.push(message.ReceiptHandle);
        if (!message.MessageId || seen.has(message.MessageId)) continue;
        seen.add(message.MessageId);
        facts.examined++;
        const { body, claimCheck } = await bodyOf(message, options);
        if (body === undefined) {
          facts.unreadClaimChecks++;
          continue;
        }
        const found = bodyNamesUser(body, options.userId);
        if (!found.named) continue;
        const receivedAt = message.MessageAttributes?.[messageAttributes.receivedAt]?.StringValue;
        const sent = Number(message.Attributes?.SentTimestamp);
        facts.messages.push({
          messageId: message.MessageId,
          type: found.type,
          sentAt: receivedAt ?? (Number.isFinite(sent) && sent > 0 ? new Date(sent).toISOString() : undefined),
          via: claimCheck ? 'claim check' : found.via,
        });
      }
    }
  } catch (error) {
    facts.error = (error as Error).message;
  } finally {
    await handBack(sqs, queue.url, handles);
  }
  facts.capped = facts.examined >= options.max && facts.approximateTotal > facts.examined;
  facts.messages.sort((a, b) => (b.sentAt ?? '').localeCompare(a.sentAt ?? ''));
  return facts;
}
