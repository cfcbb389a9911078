import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { destinations, erasure, queueSettings } from '../../lambdas/shared/definitions';
import { readStackOutputs } from './stack-outputs';

/**
 * Which dead-letter queues `npm run redrive` empties, locally and in a deployed stack, and SQS's
 * own message move task for those it may use (see redrive.ts for the loop that moves the rest).
 */

/** A dead-letter queue and the queue its messages came from. */
export interface DeadLetterPair {
  /** Which door, for people reading the output. */
  name: string;
  deadLetterQueueUrl: string;
  /** Undefined for an AWS move task: without a destination it returns messages to their source queue. */
  queueUrl?: string;
  /** Terra's SQS destination: moved by moveDeadLetters with stampSentTimestamp, in AWS too. */
  ordersBySentTimestamp?: boolean;
}

const sqsDestination = 'SQS destination';

/** Every dead-letter queue of a deployed stack: the webhook's, and each destination's it has. */
export async function stackDeadLetterQueues(stackName: string, region?: string): Promise<DeadLetterPair[]> {
  const output = await readStackOutputs(stackName, region);
  const optional = (name: Parameters<typeof output>[0]) => {
    try {
      return output(name);
    } catch {
      return undefined; // that destination is not deployed
    }
  };
  const pairs: DeadLetterPair[] = [{ name: 'webhook', deadLetterQueueUrl: output('DeadLetterQueueUrl') }];
  const sqsDestinationDeadLetters = optional('DestinationDeadLetterQueueUrl');
  if (sqsDestinationDeadLetters) {
    pairs.push({
      name: sqsDestination,
      deadLetterQueueUrl: sqsDestinationDeadLetters,
      queueUrl: output('DestinationQueueUrl'),
      ordersBySentTimestamp: true,
    });
  }
  const s3Destination = optional('DestinationEventsDeadLetterQueueUrl');
  if (s3Destination) pairs.push({ name: 'S3 destination', deadLetterQueueUrl: s3Destination });
  const erasures = optional('ErasureDeadLetterQueueUrl');
  if (erasures) pairs.push({ name: 'erase on deauth', deadLetterQueueUrl: erasures });
  return pairs;
}

/** The local stack's pairs, by the names in definitions.ts. */
export const localPairs = [
  { name: 'webhook', deadLetter: queueSettings.deadLetterQueueLocalName, queue: queueSettings.localName },
  {
    name: sqsDestination,
    deadLetter: destinations.queue.deadLetterQueueLocalName,
    queue: destinations.queue.localName,
    ordersBySentTimestamp: true,
  },
  {
    name: 'S3 destination',
    deadLetter: destinations.bucket.notificationDeadLetterQueueLocalName,
    queue: destinations.bucket.notificationQueueLocalName,
  },
  // Only there when the local stack runs with ERASE_ON_DEAUTH=true.
  { name: 'erase on deauth', deadLetter: erasure.deadLetterQueueLocalName, queue: erasure.queueLocalName, optional: true },
];

const terminal = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Starts SQS's own redrive and polls it to the end; returns the task's last state. */
export async function runMoveTask(
  sqs: SQSClient,
  queues: DeadLetterPair,
  deps: { sleep: (ms: number) => Promise<void>; write: (line: string) => void; pollMs?: number },
): Promise<ListMessageMoveTasksResultEntry> {
  const arnOf = async (QueueUrl: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const sourceArn = await arnOf(queues.deadLetterQueueUrl);
  const destinationArn = queues.queueUrl ? await arnOf(queues.queueUrl) : undefined;
  const { TaskHandle } = await sqs.send(new StartMessageMoveTaskCommand({ SourceArn: sourceArn, DestinationArn: destinationArn }));
  deps.write(`Moving ${sourceArn} → ${destinationArn ?? 'its source queue'}`);
  let lastMoved = -1;
  for (;;) {
    const { Results = [] } = await sqs.send(new ListMessageMoveTasksCommand({ SourceArn: sourceArn, MaxResults: 10 }));
    // Only running tasks carry their handle; once finished, ours is the most recent one.
    const task = Results.find((result) => result.TaskHandle === TaskHandle) ?? Results[0];
    if (!task) throw new Error('the move task disappeared from ListMessageMoveTasks');
    const moved = task.ApproximateNumberOfMessagesMoved ?? 0;
    if (moved !== lastMoved || terminal.has(task.Status ?? '')) {
      deps.write(`  ${task.Status}: ${moved} of ${task.ApproximateNumberOfMessagesToMove ?? '?'} moved`);
      lastMoved = moved;
    }
    if (terminal.has(task.Status ?? '')) return task;
    await deps.sleep(deps.pollMs ?? 2_000);
  }
}
