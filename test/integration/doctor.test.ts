import { userAttributes } from '../../lambdas/shared/attributes';
import type { TerraUser } from '../../lambdas/consumer/terra-schemas';
import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import type { LocalStack } from '../../lib/local/local-stack';
import { runDoctorCli } from '../../lib/tools/doctor/cli';
import {
  athleteEvent,
  authEvent,
  deauthEvent,
  largeRequestSendingEvent,
  localDate,
  localMidnight,
  terraUser,
  withingsActivity,
  withingsBody,
  withingsDaily,
  withingsSleep,
  xertActivity,
} from '../../lib/tools/fixtures';
import { failWritesFor } from '../support/failing-client';
import { deadLetters, deliver, type DeliverOptions, drained, startTestStack, waitFor } from '../support/local';

/**
 * `npm run doctor` against a real local stack: deliveries signed through the webhook, stored by
 * the real consumer, then the CLI's answer read as a person would read it.
 */

const failing = new Map<string, number>();
let stack: LocalStack;
beforeAll(async () => {
  // Two receives before the dead-letter queue, one second apart: a failing user's delivery gets there in seconds.
  stack = await startTestStack({ wrapDocumentClient: failWritesFor(failing), queue: { visibilityTimeoutSeconds: 1, maxReceiveCount: 2 } });
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

async function doctor(...argv: string[]): Promise<{ code: number; output: string }> {
  const lines: string[] = [];
  // The doctor's "today" is the test's, so a run across UTC midnight sees the same gaps.
  const code = await runDoctorCli(argv, {
    env: { DYNAMODB_PORT: String(stack.dynamoDb.port), SQS_PORT: String(stack.sqs.port) },
    write: (text) => lines.push(text),
    now: () => new Date(now),
  });
  return { code, output: lines.join('\n') };
}

async function send(body: unknown, options: DeliverOptions = {}) {
  expect((await deliver(stack, body, options)).status).toBe(200);
}

const seed = 'doctor-test';
const offset = 60; // Withings users of the simulator live in Paris
const now = Date.now();
const today = new Date(now).toISOString().slice(0, 10);
const daysAgo = (days: number) => localDate(now, offset, -days);
const withings = (referenceId?: string) => terraUser({ userId: randomUUID(), provider: 'WITHINGS', referenceId: referenceId ?? null });

/** A connected Withings user: auth, then a day of data. Each delivery is newer than the one before. */
async function connectWithData(user: TerraUser, extra: unknown[] = []) {
  let ordering = now - 60_000;
  await send(authEvent({ user, widgetSessionId: randomUUID() }), { orderingTimestamp: ordering++ });
  const data = [
    withingsActivity({
      user,
      start: localMidnight(daysAgo(1), offset) + 18 * 3_600_000,
      durationSeconds: 2700,
      seed,
      utcOffsetMinutes: offset,
    }),
    withingsBody({ user, date: daysAgo(1), seed, utcOffsetMinutes: offset }),
    withingsSleep({ user, nightOf: daysAgo(2), seed, utcOffsetMinutes: offset }),
    ...extra,
  ];
  for (const body of data) await send(body, { orderingTimestamp: ordering++ });
  await drained(stack);
}

describe('npm run doctor', () => {
  const referenceId = `app-user-${randomUUID().slice(0, 8)}`;
  const connected = withings(referenceId);

  beforeAll(async () => {
    // Daily summaries stopped ten days ago while activity, body and sleep kept coming: a gap.
    await connectWithData(connected, [
      withingsDaily({ user: connected, date: daysAgo(10), seed, utcOffsetMinutes: offset }),
      athleteEvent({ user: connected, athlete: { first_name: 'Alex', provider_user_id: 'withings-8830021' } }),
    ]);
  }, 60_000);

  it('a connected user with data: status, provider, account, history, newest record per type, and the backfill for the gap', async () => {
    const { code, output } = await doctor(connected.user_id);
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`^terra-ingest doctor · local stack .* · user ${connected.user_id}$`, 'm'));
    expect(output).toMatch(/^ {2}provider +WITHINGS$/m);
    expect(output).toMatch(/^ {2}status +connected$/m);
    expect(output).toMatch(/provider user id: withings-8830021/);
    // The history comes from the archive, with what the event said.
    expect(output).toMatch(/^ {2}\S+Z +auth +success +User has successfully authenticated +archive$/m);
    expect(output).toMatch(/^Last delivery\n {2}\S+Z {2}athlete {2}\(the raw archive\)$/m);
    for (const [type, date] of [
      ['activity', daysAgo(1)],
      ['body', daysAgo(1)],
      ['sleep', daysAgo(2)],
      ['daily', daysAgo(10)],
    ]) {
      expect(output).toMatch(new RegExp(`^ {2}${type} +1 +${date}T`, 'm'));
    }
    expect(output).toMatch(/\[ok\] +Connected to WITHINGS/);
    expect(output).toMatch(new RegExp(`\\[warning\\] Gap: no daily since ${daysAgo(10)}`));
    expect(output).toContain(`npm run backfill -- --user ${connected.user_id} --type daily --from ${daysAgo(10)} --to ${today}`);
    expect(output).toMatch(/webhook: 0 of this user's among \d+ examined/);
  });

  it('--json gives the same facts and diagnosis to a machine', async () => {
    const { code, output } = await doctor(connected.user_id, '--json');
    expect(code).toBe(0);
    const json = JSON.parse(output);
    expect(json).toMatchObject({
      found: 'user_id',
      users: [
        {
          facts: {
            userId: connected.user_id,
            user: { [userAttributes.status]: 'connected' },
            athlete: { providerUserId: 'withings-8830021' },
          },
        },
      ],
    });
    const [{ facts, diagnosis }] = json.users;
    expect(facts.records.map((summary: { type: string }) => summary.type).sort()).toEqual(['activity', 'body', 'daily', 'sleep']);
    expect(diagnosis.gaps).toEqual([{ type: 'daily', from: daysAgo(10), to: today, newest: daysAgo(10), daysBehind: expect.any(Number) }]);
  });

  it("a reference_id (the app's own id for the user) resolves to the user", async () => {
    const { code, output } = await doctor(referenceId);
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`· user ${connected.user_id} \\(found by reference_id ${referenceId}\\)$`, 'm'));
    expect(output).toMatch(/^ {2}status +connected$/m);
  });

  it('a deauthenticated user: says so, and the next step is to reconnect', async () => {
    const user = withings(`app-user-${randomUUID().slice(0, 8)}`);
    await connectWithData(user);
    await send(deauthEvent({ user }), { orderingTimestamp: now });
    await drained(stack);

    const { code, output } = await doctor(user.user_id);
    expect(code).toBe(0);
    expect(output).toMatch(/^ {2}status +deauthenticated$/m);
    expect(output).toMatch(/^ {2}\S+Z +deauth +success +User has deauthenticated +archive$/m);
    expect(output).toMatch(/\[problem\] Deauthenticated: the user disconnected WITHINGS/);
    expect(output).toMatch(/^Next step\n {2}1\. Ask the user to connect WITHINGS again through your app/m);
    expect(output).not.toContain('npm run backfill -- --user');
  });

  it('an unknown id exits non-zero, says where it looked and what to check', async () => {
    const { code, output } = await doctor('no-such-user-or-reference');
    expect(code).toBe(1);
    expect(output).toMatch(/^No user, reference_id or backfill reference "no-such-user-or-reference" on the local stack/);
    expect(output).toMatch(/is this the right stack\?/);
  });

  it('a usage error exits 2 with the usage', async () => {
    const { code, output } = await doctor();
    expect(code).toBe(2);
    expect(output).toMatch(/^give one user_id, reference_id or terra-reference\n\nUsage: npm run doctor/);
  });

  it("shows the user's messages in the dead-letter queue, a claim-checked one included, and leaves them there", async () => {
    const user = terraUser({ userId: randomUUID(), provider: 'XERT' });
    await send(authEvent({ user, widgetSessionId: randomUUID() }));
    await drained(stack);
    failing.set(user.user_id, -1);
    const ride = (hours: number, sampleIntervalSeconds: number) =>
      xertActivity({
        user,
        start: now - 2 * 86_400_000,
        durationSeconds: hours * 3600,
        sampleIntervalSeconds,
        seed,
        summaryId: `ride-${hours}h`,
      });
    await send(ride(1, 10));
    // 2.6 MB: over SQS's 1 MiB, so its message carries only a pointer to S3 (claim check).
    await send(ride(4, 1));
    const depth = async () => {
      const { Attributes = {} } = await stack.clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: stack.queues.deadLetterQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Number(Attributes.ApproximateNumberOfMessages);
    };
    await waitFor(async () => ((await depth()) >= 2 ? true : undefined), 'two dead letters', 60_000);
    await drained(stack, 30_000);

    const { code, output } = await doctor(user.user_id);
    expect(code).toBe(0);
    expect(output).toMatch(/^ {2}webhook: 2 of this user's among \d+ examined/m);
    expect(output).toMatch(/^ {4}\S+Z {2}activity {2}\S+ {2}\(body\)$/m);
    expect(output).toMatch(/^ {4}\S+Z {2}activity {2}\S+ {2}\(claim check\)$/m);
    expect(output).toMatch(/\[problem\] 2 deliveries of this user in the dead-letter queue \(webhook\)/);
    expect(output).toMatch(/then move them back: npm run redrive$/m);
    // Peeked, not consumed: both are still there and visible at once to the next reader (a redrive).
    expect(await depth()).toBeGreaterThanOrEqual(2);
    const visible = await deadLetters(stack);
    expect(visible.length).toBeGreaterThanOrEqual(2);
    failing.delete(user.user_id);
  }, 120_000);

  it('shows a backfill in flight, and a terra-reference leads to its user', async () => {
    const user = withings();
    const reference = `ref-${randomUUID()}`;
    await connectWithData(user);
    await send(largeRequestSendingEvent({ user, reference, expectedPayloads: 3 }));
    await send(withingsBody({ user, date: daysAgo(40), seed, utcOffsetMinutes: offset }), { terraReference: reference });
    await drained(stack);

    const { code, output } = await doctor(user.user_id);
    expect(code).toBe(0);
    expect(output).toMatch(new RegExp(`^ {2}${reference} +1 +3 +in flight: waiting for 2 more +\\S+Z$`, 'm'));
    expect(output).toMatch(new RegExp(`\\[warning\\] Backfill ${reference} in flight: 1 of 3 data events`));
    expect(output).toMatch(new RegExp(`Wait for backfill ${reference} to finish`));

    for (const id of [reference, `large_request#${reference}`]) {
      const found = await doctor(id);
      expect(found.code).toBe(0);
      expect(found.output).toMatch(new RegExp(`· user ${user.user_id} \\(found by backfill ${reference}\\)$`, 'm'));
    }
  });

  it('a user seen only through data (its auth never reached this stack) is still diagnosed', async () => {
    const user = withings();
    await send(withingsBody({ user, date: daysAgo(1), seed, utcOffsetMinutes: offset }));
    await drained(stack);
    const { code, output } = await doctor(user.user_id);
    expect(code).toBe(0);
    expect(output).toMatch(/\(seen in terra-data or the archive only\)$/m);
    expect(output).toMatch(/\[warning\] No connection event \(auth\) is stored for this user/);
    expect(output).toMatch(new RegExp(`^ {2}body +1 +${daysAgo(1)}T`, 'm'));
  });
});
