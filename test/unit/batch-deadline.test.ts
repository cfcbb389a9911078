import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSRecord } from 'aws-lambda';
import { createBatchHandler } from '../../lambdas/consumer/batch';
import { silentLogger } from '../../lambdas/shared/logger';

/**
 * A failure path: an invocation about to time out must not start a message it cannot finish;
 * it hands the message back at once instead. Stub clients record what would be sent.
 */

const record = (messageId: string): SQSRecord => ({
  messageId,
  receiptHandle: `receipt-${messageId}`,
  body: JSON.stringify({ type: 'healthcheck', status: 'success' }),
  attributes: {
    ApproximateReceiveCount: '1',
    SentTimestamp: '1795000000000',
    SenderId: 's',
    ApproximateFirstReceiveTimestamp: '1795000000000',
  },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:terra-ingest-destination',
  awsRegion: 'eu-west-1',
});

const context = (remainingMs: number) => ({ getRemainingTimeInMillis: () => remainingMs }) as unknown as Context;

function setUp() {
  const sqsCalls: { input: Record<string, unknown> }[] = [];
  const dynamoCalls: unknown[] = [];
  const handler = createBatchHandler({
    documentClient: { send: async (command: unknown) => void dynamoCalls.push(command) } as unknown as DynamoDBDocumentClient,
    tables: { data: 'd', users: 'u', events: 'e' },
    logger: silentLogger,
    sqs: { send: async (command: { input: Record<string, unknown> }) => void sqsCalls.push(command) } as unknown as SQSClient,
    pingWriteMarginMs: 10_000,
  });
  return { handler, sqsCalls, dynamoCalls };
}

describe('a batch near its timeout', () => {
  it('hands each message back for an immediate retry instead of starting it', async () => {
    const { handler, sqsCalls, dynamoCalls } = setUp();
    const response = await handler({ Records: [record('a'), record('b')] }, context(1_500));
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier)).toEqual(['a', 'b']);
    expect(sqsCalls.map((call) => call.input)).toEqual([
      {
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/terra-ingest-destination',
        ReceiptHandle: 'receipt-a',
        VisibilityTimeout: 0,
      },
      {
        QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/terra-ingest-destination',
        ReceiptHandle: 'receipt-b',
        VisibilityTimeout: 0,
      },
    ]);
    expect(dynamoCalls).toEqual([]);
  });

  it('processes the messages while there is time, even within the margin kept for the writes', async () => {
    const { handler, sqsCalls, dynamoCalls } = setUp();
    const response = await handler({ Records: [record('a')] }, context(5_000));
    expect(response.batchItemFailures).toEqual([]);
    expect(sqsCalls).toEqual([]);
    expect(dynamoCalls.length).toBeGreaterThan(0);
  });
});
