import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { LocalStack } from '../../lib/local/local-stack';
import { signatureHeader } from '../../lambdas/shared/signature';
import { deliver, scanAll, startTestStack, testSecret } from '../support/local';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const event = () => ({
  type: 'activity',
  user: { user_id: randomUUID(), provider: 'XERT' },
  data: [{ metadata: { summary_id: 'a1', start_time: '2026-11-21T07:00:00+00:00', end_time: '2026-11-21T08:00:00+00:00' } }],
});

async function queued(): Promise<number> {
  const { Attributes = {} } = await stack.clients.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: stack.queues.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return Number(Attributes.ApproximateNumberOfMessages) + Number(Attributes.ApproximateNumberOfMessagesNotVisible);
}

async function expectNothingStored() {
  expect(await queued()).toBe(0);
  expect(await scanAll(stack, 'data')).toEqual([]);
  expect(await scanAll(stack, 'users')).toEqual([]);
  expect(await scanAll(stack, 'events')).toEqual([]);
}

describe('rejected deliveries store nothing', () => {
  it.each([
    ['a wrong secret', { secret: 'not-the-secret' }, 'signature_mismatch'],
    ['an expired timestamp (replay)', { timestamp: Math.floor(Date.now() / 1000) - 3600 }, 'signature_expired'],
    ['a timestamp from the future', { timestamp: Math.floor(Date.now() / 1000) + 3600 }, 'signature_expired'],
    ['a malformed header', { headers: { 'terra-signature': 'sha256=abc' } }, 'signature_malformed'],
  ])('answers 401 for %s', async (_label, options, code) => {
    const response = await deliver(stack, event(), options);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: { code, message: expect.any(String) } });
    await expectNothingStored();
  });

  it('answers 401 signature_missing without a signature header', async () => {
    const response = await fetch(stack.webhookUrl, { method: 'POST', body: JSON.stringify(event()) });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('signature_missing');
    await expectNothingStored();
  });

  it('answers 401 when the body was altered after signing', async () => {
    const body = JSON.stringify(event());
    const signature = signatureHeader(testSecret, body, Math.floor(Date.now() / 1000));
    const response = await fetch(stack.webhookUrl, {
      method: 'POST',
      headers: { 'terra-signature': signature, 'content-type': 'application/json' },
      body: body.replace('XERT', 'XOSS'),
    });
    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('signature_mismatch');
    await expectNothingStored();
  });
});
