import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { IngestResult } from '../../lambdas/ingest/metrics';
import type { EnqueueReceipt } from '../../lambdas/ingest/queue';
import { createWebhookHandler, type IngestDependencies, secretFailureMemoryMs } from '../../lambdas/ingest/webhook';
import type { Delivery } from '../../lambdas/shared/delivery';
import { type Logger, silentLogger } from '../../lambdas/shared/logger';
import { signatureHeader } from '../../lambdas/shared/signature';
import { parseSourceIpAllowlist } from '../../lambdas/shared/source-ips';

const nowMs = 1_700_000_000_123;
const nowSeconds = Math.floor(nowMs / 1000);
const secret = 'whsec-current';
const body = '{"type":"activity","user":{"user_id":"u1","provider":"XERT"},"data":[]}';

function apiEvent(
  headers: Record<string, string>,
  payload = body,
  isBase64Encoded = false,
  sourceIp = '203.0.113.9',
): APIGatewayProxyEventV2 {
  return { headers, body: payload, isBase64Encoded, requestContext: { http: { sourceIp } } } as unknown as APIGatewayProxyEventV2;
}

/** Every line, flattened as Powertools would (message plus each extra object's keys). */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const record =
    (level: string) =>
    (message: unknown, ...extra: unknown[]) =>
      void lines.push(Object.assign({ level, message }, ...extra.filter((value) => typeof value === 'object')));
  return { lines, logger: { info: record('INFO'), warn: record('WARN'), error: record('ERROR') } as unknown as Logger };
}

function setup(
  overrides: { enqueue?: (delivery: Delivery) => Promise<void>; secrets?: (fresh?: boolean) => Promise<readonly string[]> } = {},
) {
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
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, raw, nowSeconds) }, raw.toString('base64'), true));
    expect(result.statusCode).toBe(200);
    expect(Buffer.from(enqueued[0].body).equals(raw)).toBe(true);
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
    const { handler, enqueued } = setup({
      secrets: async (fresh) => {
        reads.push(Boolean(fresh));
        return fresh ? ['new-secret', 'old-secret'] : stored;
      },
    });
    stored = ['old-secret']; // the cache still holds the old value
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader('new-secret', body, nowSeconds) }));
    expect(result.statusCode).toBe(200);
    expect(enqueued).toHaveLength(1);
    expect(reads).toEqual([false, true]);
  });

  it('reads afresh at most once a minute, however many bad signatures arrive', async () => {
    const reads: boolean[] = [];
    const { handler } = setup({
      secrets: async (fresh) => {
        reads.push(Boolean(fresh));
        return [secret];
      },
    });
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

/** The handler with every optional dependency recorded, and a clock the test moves. */
function observed(overrides: Partial<IngestDependencies> = {}) {
  const clock = { ms: nowMs };
  const results: IngestResult[] = [];
  const enqueued: Delivery[] = [];
  const { lines, logger } = recordingLogger();
  const handler = createWebhookHandler({
    signingSecrets: async () => [secret],
    enqueue: async (delivery): Promise<EnqueueReceipt> => {
      enqueued.push(delivery);
      return { messageId: `msg-${enqueued.length}`, claimChecked: false };
    },
    toleranceSeconds: 300,
    now: () => clock.ms,
    logger,
    metrics: { publish: (result) => void results.push(result) },
    newTraceId: () => 'minted-trace',
    ...overrides,
  });
  const signed = (extra: Record<string, string> = {}) =>
    apiEvent({ 'terra-signature': signatureHeader(secret, body, Math.floor(clock.ms / 1000)), ...extra });
  return { handler, clock, results, enqueued, lines, signed };
}

describe('ingest trace ids and logs', () => {
  it("keeps Terra's trace id and mints one when Terra sent none, so the message always carries one", async () => {
    const { handler, enqueued, signed } = observed();
    await handler(signed({ 'x-terra-trace-id': 'terra-trace-1' }));
    await handler(signed());
    expect(enqueued.map((delivery) => delivery.traceId)).toEqual(['terra-trace-1', 'minted-trace']);
  });

  it('mints a random UUID by default', async () => {
    const { handler, enqueued, signed } = observed({ newTraceId: undefined });
    await handler(signed());
    await handler(signed());
    expect(enqueued[0].traceId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(enqueued[1].traceId).not.toBe(enqueued[0].traceId);
  });

  it('logs one summary line per accepted delivery with the ids the consumer logs too', async () => {
    const { handler, lines, signed } = observed({
      enqueue: async () => ({ messageId: 'sqs-message-7', claimChecked: true }),
    });
    await handler(signed({ 'x-terra-trace-id': 'terra-trace-2', 'terra-reference': 'ref-2' }));
    expect(lines).toEqual([
      {
        level: 'INFO',
        message: 'delivery accepted',
        trace_id: 'terra-trace-2',
        terra_reference: 'ref-2',
        sqs_message_id: 'sqs-message-7',
        body_bytes: Buffer.byteLength(body),
        claim_checked: true,
      },
    ]);
  });

  it('logs a rejection with its reason and trace id, never the signature or the body', async () => {
    const { handler, lines } = observed();
    const forged = signatureHeader('forged-secret', body, nowSeconds);
    await handler(apiEvent({ 'terra-signature': forged, 'x-terra-trace-id': 'terra-trace-3' }));
    expect(lines).toEqual([
      { level: 'WARN', message: 'webhook rejected', reason: 'signature_mismatch', source_ip: '203.0.113.9', trace_id: 'terra-trace-3' },
    ]);
    const logged = JSON.stringify(lines);
    expect(logged).not.toContain(forged.split('v1=')[1]);
    expect(logged).not.toContain('XERT');
  });
});

describe('ingest metrics', () => {
  it('publishes an accepted delivery with its body bytes and whether it was claim-checked', async () => {
    let claimChecked = false;
    const { handler, results, signed } = observed({ enqueue: async () => ({ messageId: 'm', claimChecked }) });
    await handler(signed());
    claimChecked = true;
    await handler(signed());
    expect(results).toEqual([
      { outcome: 'accepted', bodyBytes: Buffer.byteLength(body), claimChecked: false },
      { outcome: 'accepted', bodyBytes: Buffer.byteLength(body), claimChecked: true },
    ]);
  });

  it('counts an enqueue function that reports nothing (Promise<void>) as not claim-checked', async () => {
    const { handler, results, signed } = observed({ enqueue: async () => {} });
    expect((await handler(signed())).statusCode).toBe(200);
    expect(results).toEqual([{ outcome: 'accepted', bodyBytes: Buffer.byteLength(body), claimChecked: false }]);
  });

  it.each([
    ['signature_missing', {}],
    ['signature_malformed', { 'terra-signature': 't=abc,v1=zz' }],
    ['signature_expired', { 'terra-signature': signatureHeader(secret, body, nowSeconds - 301) }],
    ['signature_mismatch', { 'terra-signature': signatureHeader('forged', body, nowSeconds) }],
  ])('publishes a %s rejection with its reason', async (reason, headers) => {
    const { handler, results } = observed();
    await handler(apiEvent(headers));
    expect(results).toEqual([{ outcome: 'rejected', reason }]);
  });

  it('publishes signing_secret_unavailable when no secret can be read', async () => {
    const { handler, results, signed } = observed({ signingSecrets: async () => [] });
    expect((await handler(signed())).statusCode).toBe(503);
    expect(results).toEqual([{ outcome: 'rejected', reason: 'signing_secret_unavailable' }]);
  });

  it('publishes enqueue_failed when the queue refuses the message', async () => {
    const { handler, results, signed } = observed({ enqueue: async () => Promise.reject(new Error('ServiceUnavailable')) });
    expect((await handler(signed())).statusCode).toBe(503);
    expect(results).toEqual([{ outcome: 'enqueue_failed' }]);
  });
});

describe('source address allowlist', () => {
  const allowedSourceIps = parseSourceIpAllowlist('18.133.218.210, 10.0.0.0/8, 2001:db8::/32');

  it('answers 403 source_ip_not_allowed before reading the secret, and counts it', async () => {
    let secretReads = 0;
    const { handler, results, enqueued } = observed({
      allowedSourceIps,
      signingSecrets: async () => {
        secretReads++;
        return [secret];
      },
    });
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, body, nowSeconds) }, body, false, '198.51.100.7'));
    expect(result.statusCode).toBe(403);
    expect(parse(result)).toEqual({ error: { code: 'source_ip_not_allowed', message: expect.any(String) } });
    expect(secretReads).toBe(0);
    expect(enqueued).toHaveLength(0);
    expect(results).toEqual([{ outcome: 'rejected', reason: 'source_ip_not_allowed' }]);
  });

  it.each(['18.133.218.210', '10.20.30.40', '2001:db8::1'])('accepts a signed delivery from %s', async (sourceIp) => {
    const { handler, enqueued } = observed({ allowedSourceIps });
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader(secret, body, nowSeconds) }, body, false, sourceIp));
    expect(result.statusCode).toBe(200);
    expect(enqueued).toHaveLength(1);
  });

  it('still checks the signature of an allowed address', async () => {
    const { handler } = observed({ allowedSourceIps });
    const result = await handler(apiEvent({ 'terra-signature': signatureHeader('forged', body, nowSeconds) }, body, false, '10.0.0.1'));
    expect(result.statusCode).toBe(401);
  });

  it('refuses a request without a source address when the allowlist is on', async () => {
    const { handler } = observed({ allowedSourceIps });
    const event = {
      headers: { 'terra-signature': signatureHeader(secret, body, nowSeconds) },
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    expect((await handler(event)).statusCode).toBe(403);
  });
});

describe('signing secret lookups while the secret is unavailable', () => {
  it(`calls the secret store once per ${secretFailureMemoryMs} ms however many requests arrive, then again`, async () => {
    let calls = 0;
    const { handler, clock, signed } = observed({
      signingSecrets: async () => {
        calls++;
        return Promise.reject(new Error('ResourceNotFoundException'));
      },
    });
    for (let n = 0; n < 20; n++) {
      expect((await handler(signed())).statusCode).toBe(503);
      clock.ms += 100;
    }
    expect(calls).toBe(1);
    clock.ms = nowMs + secretFailureMemoryMs;
    expect((await handler(signed())).statusCode).toBe(503);
    expect(calls).toBe(2);
  });

  it('remembers an empty secret the same way', async () => {
    let calls = 0;
    const { handler, signed } = observed({
      signingSecrets: async () => {
        calls++;
        return [];
      },
    });
    for (let n = 0; n < 5; n++) await handler(signed());
    expect(calls).toBe(1);
  });

  it('accepts deliveries once the secret is set and the remembered failure has passed', async () => {
    let stored: string[] = [];
    const { handler, clock, signed } = observed({ signingSecrets: async () => stored });
    expect((await handler(signed())).statusCode).toBe(503);
    stored = [secret];
    expect((await handler(signed())).statusCode).toBe(503);
    clock.ms += secretFailureMemoryMs;
    expect((await handler(signed())).statusCode).toBe(200);
  });

  it('still reads afresh after a mismatch at most once a minute', async () => {
    const reads: boolean[] = [];
    const { handler, clock } = observed({
      signingSecrets: async (fresh) => {
        reads.push(Boolean(fresh));
        return [secret];
      },
    });
    const forged = () => apiEvent({ 'terra-signature': signatureHeader('forged', body, Math.floor(clock.ms / 1000)) });
    for (let n = 0; n < 5; n++) {
      await handler(forged());
      clock.ms += 1_000;
    }
    expect(reads.filter(Boolean)).toHaveLength(1);
    clock.ms = nowMs + 60_000;
    await handler(forged());
    expect(reads.filter(Boolean)).toHaveLength(2);
  });
});
