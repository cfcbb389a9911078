import { eventItemKey, readEventItem, readRecordItem } from '../../lambdas/shared/table-items';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { largeRequestId } from '../../lambdas/consumer/items';
import { terraApi } from '../../lambdas/shared/definitions';
import { silentLogger } from '../../lambdas/shared/logger';
import { verifySignature } from '../../lambdas/shared/signature';
import type { LocalStack } from '../../lib/local/local-stack';
import { startTerraApiStandIn, type TerraApiStandIn } from '../../lib/local/terra-api/server';
import { startTestStack, testSecret, userRecords, waitFor } from '../support/local';

/** The local stand-in of Terra's REST API for history (docs/terra.md §7), end to end into the tables. */

const DAY = 86_400_000;
const auth = { 'dev-id': 'test-dev', 'x-api-key': 'test-key' };
/** `YYYY-MM-DD`, `offset` days from today (UTC). */
const day = (offset: number) => new Date(Math.floor(Date.now() / DAY) * DAY + offset * DAY).toISOString().slice(0, 10);

interface TerraRecord {
  metadata: { start_time: string; summary_id?: string };
}
interface History {
  user: { user_id: string };
  type: string;
  data: TerraRecord[];
}
interface Accepted {
  status: string;
  reference: string;
  message?: string;
}
interface Problem {
  title: string;
  instance: string;
  detail?: string;
}
const json = async <T>(response: Response): Promise<T> => (await response.json()) as T;

function get(base: string, path: string, query: Record<string, string>, headers: Record<string, string> = auth) {
  return fetch(`${base}${path}?${new URLSearchParams(query)}`, { headers });
}

let stack: LocalStack;
let api: string;
beforeAll(async () => {
  stack = await startTestStack({ terraApiPort: 0 });
  api = stack.terraApiUrl!;
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

describe('a synchronous request (to_webhook=false)', () => {
  it('answers {user, data, type} with one record for each day, the same for the same request', async () => {
    const userId = randomUUID();
    const query = { user_id: userId, start_date: day(-7), end_date: day(0), to_webhook: 'false' };
    const response = await get(api, '/daily', query);
    expect(response.status).toBe(200);
    const body = await json<History>(response);
    expect(body).toMatchObject({ type: 'daily', user: { user_id: userId, provider: 'WITHINGS' } });
    expect(body.data.map((record) => record.metadata.start_time.slice(0, 10))).toEqual([-7, -6, -5, -4, -3, -2, -1].map(day));
    expect((await json<History>(await get(api, '/daily', query))).data).toEqual(body.data);
  });

  it('accepts unix seconds and returns the athlete profile', async () => {
    const userId = randomUUID();
    const start = String(Math.floor((Date.now() - 3 * DAY) / 1000));
    const sleep = await json<History>(
      await get(api, '/sleep', { user_id: userId, start_date: start, end_date: day(0), to_webhook: 'false' }),
    );
    expect(sleep.data).toHaveLength(3);
    expect(sleep.data.every((record) => record.metadata.summary_id)).toBe(true);
    const athlete = await json<unknown>(await get(api, '/athlete', { user_id: userId, to_webhook: 'false' }));
    expect(athlete).toMatchObject({ type: 'athlete', user: { user_id: userId }, athlete: { first_name: expect.any(String) } });
  });
});

describe('a three-month backfill (to_webhook=true)', () => {
  it('is announced, then delivered in chunks that all land in terra-data, tracked against expected_payloads', async () => {
    const userId = randomUUID();
    const days = 91;
    const response = await get(api, '/activity', { user_id: userId, start_date: day(-days), end_date: day(0), to_webhook: 'true' });
    expect(response.status).toBe(200);
    const accepted = await json<Accepted>(response);
    const reference = accepted.reference;
    expect(response.headers.get(terraApi.headers.reference)).toBe(reference);
    expect(accepted).toMatchObject({
      status: 'success',
      type: 'activity',
      trace_id: reference,
      message: expect.any(String),
      user: { user_id: userId },
    });

    const activities = await waitFor(
      async () => {
        const records = (await userRecords(stack, userId)).map(readRecordItem).filter((record) => record.recordId.startsWith('activity#'));
        return records.length === days ? records : undefined;
      },
      `${days} activities`,
      90_000,
    );
    const chunks = Math.ceil(days / 7);
    const tracker = await waitFor(
      async () => {
        const { Item } = await stack.clients.documentClient.send(
          new GetCommand({ TableName: stack.tableNames.events, Key: eventItemKey(largeRequestId(reference)), ConsistentRead: true }),
        );
        const tracker = Item && readEventItem(Item);
        return tracker?.expectedPayloads !== undefined && tracker.receivedPayloads === chunks ? tracker : undefined;
      },
      'the backfill tracker to count every chunk',
      30_000,
    );
    expect(tracker).toMatchObject({ type: 'large_request', outcome: 'tracking', expectedPayloads: chunks, userId });

    // What arrived through the webhook is what the API answers synchronously for the same days.
    const firstWeeks = await json<History>(
      await get(api, '/activity', { user_id: userId, start_date: day(-days), end_date: day(-days + 28), to_webhook: 'false' }),
    );
    const stored = new Set(activities.map((record) => record.recordId));
    expect(firstWeeks.data).toHaveLength(28);
    for (const record of firstWeeks.data) expect(stored).toContain(`activity#${record.metadata.summary_id}`);
  }, 120_000);
});

describe('errors are problem+json, as Terra answers them', () => {
  it('401 without dev-id and x-api-key', async () => {
    const response = await get(api, '/daily', { user_id: 'u', start_date: day(-2) }, {});
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ type: 'about:blank', title: 'unauthorized', instance: '/daily' });
  });

  it('400 naming start_date when it is not a date', async () => {
    const response = await get(api, '/activity', { user_id: 'u', start_date: '2026-13-45', to_webhook: 'false' });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({
      title: 'bad request',
      instance: '/activity',
      detail: expect.stringContaining('start_date'),
    });
  });

  it(`400 for a range over ${terraApi.requestMaxDays} days`, async () => {
    const response = await get(api, '/daily', { user_id: randomUUID(), start_date: day(-terraApi.requestMaxDays - 1), end_date: day(0) });
    expect(response.status).toBe(400);
    expect((await json<Problem>(response)).detail).toContain(String(terraApi.requestMaxDays));
  });

  it('an injected 429 answers once, with Retry-After and the rate-limit headers, then the request succeeds', async () => {
    const fault = await fetch(`${api}/_stand-in/faults`, {
      method: 'POST',
      body: JSON.stringify({ status: 429, count: 1, retryAfterSeconds: 1 }),
    });
    expect(fault.status).toBe(200);
    const query = { user_id: randomUUID(), start_date: day(-2), end_date: day(0), to_webhook: 'false' };
    const limited = await get(api, '/body', query);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('x-terra-ratelimit-limit')).toBe(String(terraApi.userDaysPerHour));
    expect(limited.headers.get('x-terra-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-terra-ratelimit-reset')).toBe('1');
    expect(await limited.json()).toMatchObject({ title: 'too many requests', instance: '/body' });
    const retried = await get(api, '/body', query);
    expect(retried.status).toBe(200);
    expect((await json<History>(retried)).data).toHaveLength(2);
  });
});

describe('the stand-in on its own, delivering to a recording webhook', () => {
  interface Received {
    headers: Record<string, string>;
    body: { type: string; data?: unknown[]; expected_payloads?: number };
    raw: string;
  }
  let received: Received[];
  let webhook: Server;
  let standIn: TerraApiStandIn;
  beforeAll(async () => {
    received = [];
    webhook = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({ headers: request.headers as Record<string, string>, body: JSON.parse(raw), raw });
        response.end('{}');
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    standIn = await startTerraApiStandIn({
      port: 0,
      webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/webhook`,
      signingSecret: testSecret,
      logger: silentLogger,
      userDaysPerHour: 10,
    });
  });
  afterAll(async () => {
    await standIn?.stop();
    await new Promise((resolve) => webhook?.close(resolve));
  });
  beforeEach(() => {
    received.length = 0;
  });

  it('sends a range within a month as one signed data event, without announcements', async () => {
    const response = await get(standIn.url, '/daily', { user_id: randomUUID(), start_date: day(-5), end_date: day(0) });
    const { reference } = await json<Accepted>(response);
    await standIn.settle();
    expect(received).toHaveLength(1);
    const [event] = received;
    expect(event!.body.type).toBe('daily');
    expect(event!.body.data).toHaveLength(5);
    expect(event!.headers['terra-reference']).toBe(reference);
    expect(event!.headers['x-terra-trace-id']).toBe(reference);
    expect(Number(event!.headers['x-terra-ordering-timestamp'])).toBeGreaterThan(0);
    const signature = verifySignature(event!.headers['terra-signature'], Buffer.from(event!.raw), {
      secrets: [testSecret],
      toleranceSeconds: 300,
      nowSeconds: Date.now() / 1000,
    });
    expect(signature.valid).toBe(true);
  });

  it('counts requested days per user over a rolling hour: over the limit is 429, another user is not affected', async () => {
    const userId = randomUUID();
    expect((await get(standIn.url, '/daily', { user_id: userId, start_date: day(-7), end_date: day(0), to_webhook: 'false' })).status).toBe(
      200,
    );
    const over = await get(standIn.url, '/daily', { user_id: userId, start_date: day(-7), end_date: day(0), to_webhook: 'false' });
    expect(over.status).toBe(429);
    expect(over.headers.get('x-terra-ratelimit-remaining')).toBe('3');
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(
      (await get(standIn.url, '/daily', { user_id: randomUUID(), start_date: day(-7), end_date: day(0), to_webhook: 'false' })).status,
    ).toBe(200);
  });

  it('with shuffleChunks, announces first and then sends every chunk once, out of order', async () => {
    // A stand-in of its own: the shared one allows only 10 days an hour per user.
    const wide = await startTerraApiStandIn({
      port: 0,
      webhookUrl: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/webhook`,
      signingSecret: testSecret,
      logger: silentLogger,
    });
    try {
      expect((await fetch(`${wide.url}/_stand-in/faults`, { method: 'POST', body: JSON.stringify({ shuffleChunks: true }) })).status).toBe(
        200,
      );
      const response = await get(wide.url, '/sleep', { user_id: randomUUID(), start_date: day(-70), end_date: day(0) });
      const { reference } = await json<Accepted>(response);
      await wide.settle();
      expect(received.slice(0, 2).map((event) => event.body.type)).toEqual(['large_request_processing', 'large_request_sending']);
      expect(received[1]!.body.expected_payloads).toBe(10);
      const chunkIds = received.slice(2).map((event) => event.headers['x-terra-trace-id']);
      const inOrder = Array.from({ length: 10 }, (_, n) => `${reference}:chunk:${n + 1}`);
      expect([...chunkIds].sort()).toEqual([...inOrder].sort());
      expect(chunkIds).not.toEqual(inOrder);
      expect(received.every((event) => event.headers['terra-reference'] === reference)).toBe(true);
    } finally {
      await wide.stop();
    }
  });
});
