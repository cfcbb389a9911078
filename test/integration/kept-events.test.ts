import { eventItemKey, readEventItem } from '../../lambdas/shared/table-items';
import { randomBytes, randomUUID } from 'node:crypto';
import { eventId } from '../../lambdas/consumer/items';
import type { LocalStack } from '../../lib/local/local-stack';
import { eventBody } from '../../lambdas/shared/record-payload';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { signatureHeader } from '../../lambdas/shared/signature';
import { deliver, startTestStack, testSecret, waitFor } from '../support/local';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function keptEvent(raw: string | Buffer) {
  return waitFor(async () => {
    const { Item } = await stack.clients.documentClient.send(
      new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(eventId(Buffer.from(raw))), ConsistentRead: true }),
    );
    return Item;
  }, 'the kept event');
}

describe('authenticated bodies that are not records are kept, with a reason', () => {
  it.each([
    [
      'large_request_sending',
      { type: 'large_request_sending', user: { user_id: 'u', provider: 'WITHINGS' }, reference: 'r', message: 'm', expected_payloads: 4 },
      'recorded',
    ],
    [
      'healthcheck',
      {
        type: 'healthcheck',
        status: 'success',
        creation_timestamp: '2026-11-22T00:00:00Z',
        trend_percentage: 0,
        sent_webhooks_last_hour: 12,
      },
      'recorded',
    ],
    [
      'rate_limit_hit',
      { type: 'rate_limit_hit', start_date: '2026-11-01', end_date: '2026-11-02', retrying_at: '2026-11-22T01:00:00Z' },
      'recorded',
    ],
    ['an unknown type', { type: 'glucose_forecast', user: { user_id: 'u2', provider: 'LABS' } }, 'unknown_type'],
    [
      'an activity without summary_id',
      { type: 'activity', user: { user_id: 'u3', provider: 'XOSS' }, data: [{ metadata: { start_time: 'x' } }] },
      'invalid',
    ],
  ])('%s', async (_label, body, outcome) => {
    const raw = JSON.stringify({ ...body, nonce: randomUUID() });
    expect((await deliver(stack, raw)).status).toBe(200);
    const item = await keptEvent(raw);
    expect(readEventItem(item)).toMatchObject({ outcome, type: body.type, reason: expect.any(String), receivedAt: expect.any(String) });
    expect((await eventBody(item)).toString()).toBe(raw);
  });

  it('keeps a body that is not JSON as unparseable, byte for byte', async () => {
    const raw = `<xml>${randomUUID()}</xml>`;
    expect((await deliver(stack, raw)).status).toBe(200);
    const item = await keptEvent(raw);
    expect(readEventItem(item)).toMatchObject({ outcome: 'unparseable', reason: expect.stringMatching(/not JSON/) });
    expect((await eventBody(item)).toString()).toBe(raw);
  });

  it('keeps a body that is not even UTF-8', async () => {
    const raw = Buffer.concat([Buffer.from('{"type":"'), Buffer.from([0xff, 0xfe]), Buffer.from(randomUUID()), Buffer.from('"}')]);
    const response = await fetch(stack.webhookUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'terra-signature': signatureHeader(testSecret, raw, Math.floor(Date.now() / 1000)),
      },
      body: raw,
    });
    expect(response.status).toBe(200);
    const item = await keptEvent(raw);
    expect((await eventBody(item)).equals(raw)).toBe(true);
  });

  it('keeps an invalid body too large for an item in S3, readable whole', async () => {
    const raw = JSON.stringify({
      type: 'activity',
      user: { user_id: 'u-large', provider: 'XOSS' },
      data: [{ metadata: { start_time: '2026-11-21T07:00:00+00:00' }, noise: randomBytes(600 * 1024).toString('hex') }],
    });
    expect((await deliver(stack, raw)).status).toBe(200);
    const item = await keptEvent(raw);
    expect(readEventItem(item)).toMatchObject({
      outcome: 'invalid',
      form: 's3',
      bodyS3: expect.stringMatching(/^s3:\/\/terra-ingest-payloads\/events\//),
    });
    expect((await eventBody(item, stack.clients.s3)).toString()).toBe(raw);
  });
});
