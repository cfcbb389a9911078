import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { emfIngestMetrics } from '../../lambdas/ingest/metrics';
import { observability } from '../../lambdas/shared/definitions';
import type { LocalStack } from '../../lib/local/local-stack';
import { terraUser } from '../../lib/tools/fixtures';
import { deliver, getUser, startTestStack, waitFor } from '../support/local';

/**
 * `ALLOWED_SOURCE_IPS` on the local stack, whose requests come from 127.0.0.1: the real ingest
 * handler behind the stand-in of API Gateway, with real fauxqs and dynalite.
 */

const authEvent = (userId: string) => ({
  type: 'auth',
  status: 'success',
  user: terraUser({ userId, provider: 'WITHINGS' }),
  reference_id: 'r',
});

async function queued(stack: LocalStack): Promise<number> {
  const { Attributes = {} } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queues.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

describe('source address allowlist on the local stack', () => {
  it('refuses a signed delivery from an address not listed: 403, nothing queued, counted by reason', async () => {
    const emf: string[] = [];
    // No consumer: whatever reached the queue would stay there to be seen.
    const stack = await startTestStack({
      allowedSourceIps: '203.0.113.0/24',
      consumerConcurrency: 0,
      metrics: { ingest: emfIngestMetrics((line) => emf.push(line)) },
    });
    try {
      const answer = await deliver(stack, authEvent(randomUUID()));
      expect(answer.status).toBe(403);
      expect(await answer.json()).toEqual({ error: { code: 'source_ip_not_allowed', message: expect.any(String) } });
      expect(await queued(stack)).toBe(0);
      expect(emf.map((line) => JSON.parse(line))).toEqual([
        expect.objectContaining({ reason: 'source_ip_not_allowed', [observability.metrics.deliveriesRejected]: 1 }),
      ]);
    } finally {
      await stack.stop();
    }
  }, 60_000);

  it('accepts and stores a signed delivery from a listed address', async () => {
    const stack = await startTestStack({ allowedSourceIps: '2001:db8::/32, 127.0.0.1' });
    try {
      const userId = randomUUID();
      expect((await deliver(stack, authEvent(userId))).status).toBe(200);
      await waitFor(() => getUser(stack, userId), `user ${userId}`, 30_000);
    } finally {
      await stack.stop();
    }
  }, 60_000);

  it('refuses to start with a malformed entry, naming it', async () => {
    await expect(startTestStack({ allowedSourceIps: '127.0.0.1, 10.0.0.0/40' })).rejects.toThrow(/10\.0\.0\.0\/40/);
  });
});
