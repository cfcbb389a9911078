import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { createWebhookHandler } from '../../lambdas/ingest/webhook';
import type { Delivery } from '../../lambdas/shared/delivery';
import { silentLogger } from '../../lambdas/shared/logger';
import { signatureHeader } from '../../lambdas/shared/signature';

const nowMs = 1_700_000_000_123;
const nowSeconds = Math.floor(nowMs / 1000);
const secret = 'whsec-current';
const body = '{"type":"activity","user":{"user_id":"u1","provider":"XERT"},"data":[]}';

function apiEvent(headers: Record<string, string>, payload = body, isBase64Encoded = false): APIGatewayProxyEventV2 {
  return { headers, body: payload, isBase64Encoded, requestContext: { http: { sourceIp: '203.0.113.9' } } } as unknown as APIGatewayProxyEventV2;
}

function setup(overrides: { enqueue?: (delivery: Delivery) => Promise<void>; secrets?: (fresh?: boolean) => Promise<readonly string[]> } = {}) {
  const enqueued: Delivery[] = [];
  const handler = createWebhookHandler({
    signingSecrets: overrides.secrets ?? (async () => [secret]),
    enqueue: overrides.enqueue ?? (async (delivery) => void enqueued.push(delivery)),
    toleranceSeconds: 300,
    now: () => nowMs,
    logger: silentLogger,
  });
  return { handler, enqueued };
}

const parse = (result: { body?: string }) => JSON.parse(result.body ?? '{}');

describe('ingest webhook handler', () => {
  it('enqueues the exact body with its delivery metadata and answers 200', async () => {
    const { handler, enqueued } = setup();
    const result = await handler(
      apiEvent({
        'terra-signature': signatureHeader(secret, body, nowSeconds),
        'x-terra-ordering-timestamp': '1700000000999',
        'terra-reference': 'ref-1',
        'x-terra-trace-id': 'trace-1',
      }),
    );
    expect(result.statusCode).toBe(200);
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0].body.toString()).toBe(body);
    expect(enqueued[0]).toMatchObject({
      signatureTimestamp: nowSeconds,
      orderingTimestamp: 1700000000999,
      terraReference: 'ref-1',
      traceId: 'trace-1',
      receivedAt: new Date(nowMs).toISOString(),
    });
  });

  it.each(['terra-signature', 'x-terra-signature', 'X-Terra-Signature', 'Terra-Signature'])(
    'reads the signature from the %s header',
    async (name) => {
      const { handler, enqueued } = setup();
      const result = await handler(apiEvent({ [name]: signatureHeader(secret, body, nowSeconds) }));
      expect(result.statusCode).toBe(200);
      expect(enqueued).toHaveLength(1);
    },
  );

  it('verifies and enqueues the decoded bytes of a base64-encoded body', async () => {
    const { handler, enqueued } = setup();
    const raw = Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]); // not valid UTF-8
    const result = await handler(
      apiEvent({ 'terra-signature': signatureHeader(secret, raw, nowSeconds) }, raw.toString('base64'), true),
    );
    expect(result.statusCode).toBe(200);
    expect(enqueued[0].body.equals(raw)).toBe(true);
  });

  it('answers 401 with a stable error code and enqueues nothing when the signature is wrong', async () => {
    const { handler, enqueued } = setup();
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader('not-the-secret', body, nowSeconds) }));
    expect(result.statusCode).toBe(401);
    expect(parse(result)).toEqual({ error: { code: 'signature_mismatch', message: expect.any(String) } });
    expect(enqueued).toHaveLength(0);
  });

  it('answers 401 signature_expired for a replay outside the window', async () => {
    const { handler, enqueued } = setup();
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, body, nowSeconds - 301) }));
    expect(result.statusCode).toBe(401);
    expect(parse(result).error.code).toBe('signature_expired');
    expect(enqueued).toHaveLength(0);
  });

  it('answers 503 when the queue refuses the message, so Terra retries', async () => {
    const { handler } = setup({ enqueue: async () => Promise.reject(new Error('ServiceUnavailable')) });
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, body, nowSeconds) }));
    expect(result.statusCode).toBe(503);
    expect(parse(result).error.code).toBe('queue_unavailable');
    expect(result.body).not.toMatch(/ServiceUnavailable|at .*\.ts/);
  });

  it('answers 503 while no signing secret is configured, rather than rejecting for good', async () => {
    const { handler, enqueued } = setup({ secrets: async () => [] });
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, body, nowSeconds) }));
    expect(result.statusCode).toBe(503);
    expect(parse(result).error.code).toBe('signing_secret_unavailable');
    expect(enqueued).toHaveLength(0);
  });

  it('answers 503 when the secret store cannot be read', async () => {
    const { handler } = setup({ secrets: async () => Promise.reject(new Error('AccessDenied')) });
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, body, nowSeconds) }));
    expect(result.statusCode).toBe(503);
  });

  it('ignores an ordering timestamp that is not a number', async () => {
    const { handler, enqueued } = setup();
    await handler(apiEvent({ 'terra-signature': signatureHeader(secret, body, nowSeconds), 'x-terra-ordering-timestamp': 'soon' }));
    expect(enqueued[0].orderingTimestamp).toBeUndefined();
  });

  it('ignores an ordering timestamp later than the signature window allows (it is not signed)', async () => {
    const { handler, enqueued } = setup();
    const header = signatureHeader(secret, body, nowSeconds);
    await handler(apiEvent({ 'terra-signature': header, 'x-terra-ordering-timestamp': String((nowSeconds + 301) * 1000) }));
    await handler(apiEvent({ 'terra-signature': header, 'x-terra-ordering-timestamp': String((nowSeconds + 300) * 1000) }));
    expect(enqueued.map((delivery) => delivery.orderingTimestamp)).toEqual([undefined, (nowSeconds + 300) * 1000]);
  });

  it('reads the secrets afresh when a signature does not match, so a rotation takes effect at once', async () => {
    const reads: boolean[] = [];
    let stored = ['old-secret'];
    const { handler, enqueued } = setup({ secrets: async (fresh) => (reads.push(Boolean(fresh)), fresh ? ['new-secret', 'old-secret'] : stored) });
    stored = ['old-secret']; // the cache still holds the old value
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader('new-secret', body, nowSeconds) }));
    expect(result.statusCode).toBe(200);
    expect(enqueued).toHaveLength(1);
    expect(reads).toEqual([false, true]);
  });

  it('reads afresh at most once a minute, however many bad signatures arrive', async () => {
    const reads: boolean[] = [];
    const { handler } = setup({ secrets: async (fresh) => (reads.push(Boolean(fresh)), [secret]) });
    for (let n = 0; n < 5; n++) await handler(apiEvent({ 'terra-signature': signatureHeader('forged', body, nowSeconds) }));
    expect(reads.filter(Boolean)).toHaveLength(1);
  });

  it('accepts an authenticated body whatever it contains', async () => {
    const { handler, enqueued } = setup();
    const garbage = 'not json at all \u0001';
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, garbage, nowSeconds) }, garbage));
    expect(result.statusCode).toBe(200);
    expect(enqueued[0].body.toString()).toBe(garbage);
  });
});
