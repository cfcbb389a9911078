import { randomBytes, randomUUID } from 'node:crypto';
import { GetObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { eventId } from '../../lambdas/consumer/items';
import { payloadBucket } from '../../lambdas/shared/definitions';
import { parseS3Url } from '../../lambdas/shared/s3-url';
import { readEventItem, readRecordItem, readUserItem } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { authEvent, terraUser, xertActivity } from '../../lib/tools/fixtures';
import { runEraseUserCli } from '../../lib/tools/erase/cli';
import { deliver, drained, scanAll, startTestStack, waitFor } from '../support/local';

/**
 * Erasing one user, end to end: two users' realistic deliveries go through the real handlers,
 * then the CLI erases one. Everything of that user goes, from every table and every prefix of the
 * payload bucket; the other users' items and objects stay exactly as they were. With erase on
 * deauth, a `deauth` or `access_revoked` does the same through the eraser function.
 */

const start = Date.parse('2026-11-20T06:00:00Z');

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack({ eraseOnDeauth: { delaySeconds: 0 } });
});
afterAll(async () => {
  await stack?.stop();
});

/** Every delivery one user's footprint comes from, as raw bodies (their hashes find claim checks). */
async function deliverUser(userId: string, seed: string): Promise<string[]> {
  const user = terraUser({ userId, provider: 'XERT', referenceId: `ref-${seed}` });
  const bodies = [
    JSON.stringify(authEvent({ user, widgetSessionId: randomUUID() })),
    // Small enough for the item itself.
    JSON.stringify(xertActivity({ user, start, durationSeconds: 1800, seed: `${seed}-small` })),
    // Over 1 MiB: claim-checked through deliveries/, and too large even gzipped: records/.
    JSON.stringify(
      xertActivity({ user, start: start + 86_400_000, durationSeconds: 30_000, sampleIntervalSeconds: 1, seed: `${seed}-large` }),
    ),
    // Kept as invalid (no summary_id), inline.
    JSON.stringify({
      type: 'activity',
      user: { user_id: userId, provider: 'XERT' },
      data: [{ metadata: { start_time: 'x' } }],
      nonce: seed,
    }),
    // Kept as invalid and too large for an item: events/ (and claim-checked too).
    JSON.stringify({
      type: 'activity',
      user: { user_id: userId, provider: 'XERT' },
      data: [{ metadata: { start_time: '2026-11-21T07:00:00+00:00' }, noise: randomBytes(600 * 1024).toString('hex') }],
    }),
  ];
  for (const body of bodies) expect((await deliver(stack, body)).status).toBe(200);
  // A chunk of a historical request: its tracker (`large_request#…`) carries the user id.
  const chunk = JSON.stringify(xertActivity({ user, start: start + 2 * 86_400_000, durationSeconds: 600, seed: `${seed}-chunk` }));
  expect((await deliver(stack, chunk, { terraReference: `backfill-${seed}` })).status).toBe(200);
  return [...bodies, chunk];
}

interface Snapshot {
  items: Record<'data' | 'users' | 'events', Record<string, unknown>[]>;
  /** Every object in the payload bucket: key → ETag and the SHA-256 of its content. */
  objects: Map<string, { etag: string; sha256: string }>;
}

async function snapshot(): Promise<Snapshot> {
  const objects = new Map<string, { etag: string; sha256: string }>();
  for await (const page of paginateListObjectsV2({ client: stack.clients.s3 }, { Bucket: stack.bucket })) {
    for (const { Key, ETag } of page.Contents ?? []) {
      const { Body } = await stack.clients.s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key }));
      objects.set(Key!, { etag: ETag!, sha256: eventId(Buffer.from(await Body!.transformToByteArray())) });
    }
  }
  const [data, users, events] = await Promise.all([scanAll(stack, 'data'), scanAll(stack, 'users'), scanAll(stack, 'events')]);
  return { items: { data, users, events }, objects };
}

/** The user an item of each table is about (a backfill's tracker names one too). */
const userOf: Record<keyof Snapshot['items'], (item: Record<string, unknown>) => string | undefined> = {
  data: (item) => readRecordItem(item).userId,
  users: (item) => readUserItem(item).userId,
  events: (item) => readEventItem(item).userId,
};

/** What of a snapshot belongs to a user, found without the erase's own index. */
function footprintIn(before: Snapshot, userId: string, bodies: string[]) {
  const items = {
    data: before.items.data.filter((item) => userOf.data(item) === userId),
    users: before.items.users.filter((item) => userOf.users(item) === userId),
    events: before.items.events.filter((item) => userOf.events(item) === userId),
  };
  const pointed = new Set(
    [...items.data.map((item) => readRecordItem(item).payloadS3), ...items.events.map((item) => readEventItem(item).bodyS3)]
      .filter((url): url is string => typeof url === 'string')
      .map((url) => parseS3Url(url).key),
  );
  const hashes = new Set(bodies.map((body) => eventId(Buffer.from(body))));
  const objects = [...before.objects].filter(
    ([key, { sha256 }]) =>
      key.includes(userId) || pointed.has(key) || (key.startsWith(payloadBucket.prefixes.deliveries) && hashes.has(sha256)),
  );
  return { items, objects: new Map(objects) };
}

const byPrefix = (keys: Iterable<string>) => {
  const counts: Record<string, number> = {};
  for (const key of keys) {
    const prefix = Object.values(payloadBucket.prefixes).find((candidate) => key.startsWith(candidate)) ?? 'other';
    counts[prefix] = (counts[prefix] ?? 0) + 1;
  }
  return counts;
};

async function eraseCli(...args: string[]) {
  const output: string[] = [];
  const code = await runEraseUserCli(args, {
    env: { DYNAMODB_PORT: String(stack.dynamoDb.port), SQS_PORT: String(stack.sqs.port) },
    write: (line) => output.push(line),
  });
  const counts: Record<string, number> = {};
  for (const line of output) {
    const match = /^ {2}(\S.*?)\s+(\d+) (?:item|object)s?$/.exec(line);
    if (match) counts[match[1]] = Number(match[2]);
  }
  return { code, output: output.join('\n'), counts };
}

const erasedEverywhere = (counts: Record<string, number>) =>
  Object.keys(counts).length === 3 + Object.keys(payloadBucket.prefixes).length && Object.values(counts).every((count) => count === 0);

describe('npm run erase-user', () => {
  // Each test has its own users, so none depends on what another did, in whatever order they run.
  const user = (name: string) => `user-${name}-${randomUUID()}`;
  const [erased, bystander, dryRun, twice] = ['erased', 'bystander', 'dry-run', 'twice'].map(user) as [string, string, string, string];
  const bodies: Record<string, string[]> = {};

  beforeAll(async () => {
    for (const [index, userId] of [erased, bystander, dryRun, twice].entries())
      bodies[userId] = await deliverUser(userId, String.fromCharCode(97 + index));
    // A delivery that names no user: nobody's to erase.
    await deliver(stack, {
      type: 'healthcheck',
      status: 'success',
      creation_timestamp: '2026-11-22T00:00:00Z',
      trend_percentage: 0,
      sent_webhooks_last_hour: 1,
    });
    await drained(stack, 120_000);
  }, 240_000);

  it('a dry run counts the user in every place and deletes nothing', async () => {
    const before = await snapshot();
    const mine = footprintIn(before, dryRun, bodies[dryRun]!);
    // Each place this test is about holds something of the user, so "all gone" elsewhere means something.
    const prefixes = byPrefix(mine.objects.keys());
    expect(Object.values(payloadBucket.prefixes).filter((prefix) => !prefixes[prefix])).toEqual([]);
    expect(mine.items.events.some((item) => readEventItem(item).eventId.startsWith('large_request#'))).toBe(true);

    const { code, output, counts } = await eraseCli(dryRun);
    expect(code).toBe(0);
    expect(output).toMatch(/dry run/i);
    expect(counts).toEqual({
      'terra-data': mine.items.data.length,
      'terra-users': 1,
      'terra-events': mine.items.events.length,
      ...Object.fromEntries(Object.values(payloadBucket.prefixes).map((prefix) => [`s3 ${prefix}`, prefixes[prefix]])),
    });
    expect(await snapshot()).toEqual(before);
  }, 60_000);

  it('--yes erases everything of the user and leaves every other user exactly as it was', async () => {
    const before = await snapshot();
    const mine = footprintIn(before, erased, bodies[erased]!);
    const { code, counts } = await eraseCli(erased, '--yes');
    expect(code).toBe(0);
    expect(counts['terra-data']).toBe(mine.items.data.length);

    const after = await snapshot();
    for (const table of ['data', 'users', 'events'] as const) {
      expect(after.items[table].filter((item) => userOf[table](item) === erased)).toEqual([]);
      expect(JSON.stringify(after.items[table])).not.toContain(erased);
      // Everyone else's items are the ones that were there.
      expect(after.items[table]).toEqual(before.items[table].filter((item) => userOf[table](item) !== erased));
    }
    // Nothing of the user under any prefix: no key naming them, no object their items pointed to, no claim-checked body of theirs.
    expect([...footprintIn(after, erased, bodies[erased]!).objects.keys()]).toEqual([]);
    // Every other object, the bystander's claim checks, records, archive and markers included, is still there, unchanged.
    expect(after.objects).toEqual(new Map([...before.objects].filter(([key]) => !mine.objects.has(key))));
    const others = footprintIn(after, bystander, bodies[bystander]!);
    expect(others.objects).toEqual(footprintIn(before, bystander, bodies[bystander]!).objects);
    expect(Object.keys(byPrefix(others.objects.keys())).sort()).toEqual(Object.values(payloadBucket.prefixes).sort());
  }, 60_000);

  it('a second run finds zero everywhere, and says so', async () => {
    expect((await eraseCli(twice, '--yes')).code).toBe(0);
    for (const args of [[twice], [twice, '--yes']]) {
      const { code, output, counts } = await eraseCli(...args);
      expect(code).toBe(0);
      expect(output).toMatch(/Nothing found for user/);
      expect(erasedEverywhere(counts)).toBe(true);
    }
  }, 60_000);

  it('an unknown user is reported as such on a dry run, exit 0', async () => {
    const { code, output } = await eraseCli(`user-nobody-${randomUUID()}`);
    expect(code).toBe(0);
    expect(output).toMatch(/Nothing found for user/);
  }, 60_000);
});

describe('erase on deauth (stack prop eraseOnDeauth)', () => {
  it.each(['deauth', 'access_revoked'])(
    '%s erases the user off the ingest path; other users stay; data arriving later is stored again',
    async (type) => {
      const userId = `user-${type}-${randomUUID()}`;
      const bystander = `user-bystander-${randomUUID()}`;
      await deliverUser(userId, `${type}-gone`);
      const bystanderBodies = await deliverUser(bystander, `${type}-stays`);
      await drained(stack, 120_000);
      const bystanderBefore = footprintIn(await snapshot(), bystander, bystanderBodies);
      expect(erasedEverywhere((await eraseCli(userId)).counts)).toBe(false);

      const response = await deliver(stack, {
        type,
        user: { user_id: userId, provider: 'XERT', reference_id: 'ref', scopes: null },
        status: 'success',
        message: 'User has deauthenticated',
        version: '2022-03-16',
      });
      expect(response.status).toBe(200);
      await waitFor(async () => erasedEverywhere((await eraseCli(userId)).counts) || undefined, `${userId} erased`, 60_000);

      expect(footprintIn(await snapshot(), bystander, bystanderBodies)).toEqual(bystanderBefore);
      // A late copy (a Terra retry from before the deauth, a redrive) is stored like any other delivery.
      expect(
        (
          await deliver(
            stack,
            xertActivity({ user: terraUser({ userId, provider: 'XERT' }), start, durationSeconds: 60, seed: `${type}-late` }),
          )
        ).status,
      ).toBe(200);
      await drained(stack, 60_000);
      expect((await scanAll(stack, 'data')).filter((item) => userOf.data(item) === userId)).toHaveLength(1);
    },
    240_000,
  );
});
