import { archiveIndexKeys, archiveIndexPrefix, archiveKey } from '../../lambdas/consumer/archive';
import { runEraseUserCli } from '../../lib/tools/erase/cli';
import { countPlaces, deleteBatches, markedObject, placeOf, type UserFootprint } from '../../lambdas/eraser/places';
import { dataItemKey } from '../../lambdas/shared/table-items';

const bucket = 'terra-ingest-payloads';
const sha = 'cd'.repeat(32);
const delivery = { signatureTimestamp: 1, receivedAt: '2026-11-22T02:19:55.164Z' };

describe('the per-user archive index', () => {
  const key = archiveKey(delivery, sha, 'activity', 'u-1');

  it('marks the archived copy under the user, and leads back to it', () => {
    const [marker] = archiveIndexKeys(bucket, key, 'u-1');
    expect(marker).toBe(`archive-index/u-1/2026/11/22/02/20261122T021955164Z_activity_u-1_${sha.slice(0, 16)}`);
    expect(markedObject(marker!, archiveIndexPrefix('u-1'))).toBe(key);
  });

  it('marks a claim-checked body of this bucket, whose key does not name the user', () => {
    const keys = archiveIndexKeys(bucket, key, 'u-1', `s3://${bucket}/deliveries/2026-11-22/0b7c`);
    expect(keys).toHaveLength(2);
    expect(markedObject(keys[1]!, archiveIndexPrefix('u-1'))).toBe('deliveries/2026-11-22/0b7c');
  });

  it('leaves out a body in another bucket (the S3 destination) and a replayed one (in the archive)', () => {
    expect(archiveIndexKeys(bucket, key, 'u-1', 's3://terra-ingest-destination/deliveries/x')).toHaveLength(1);
    expect(archiveIndexKeys(bucket, key, 'u-1', `s3://${bucket}/${key}`)).toHaveLength(1);
  });

  it("keeps one user's prefix out of another's, whatever the id holds", () => {
    expect(archiveIndexPrefix('a/b')).toBe('archive-index/a%2Fb/');
    expect(archiveIndexPrefix('a/b').startsWith(archiveIndexPrefix('a'))).toBe(false);
    expect(markedObject('archive-index/u-2/2026/x', archiveIndexPrefix('u-1'))).toBeUndefined();
  });
});

describe('erase places', () => {
  const footprint: UserFootprint = {
    userId: 'u-1',
    dataKeys: [dataItemKey('u-1', 'activity#1')],
    user: true,
    eventIds: ['e1', 'large_request#r'],
    eventsScanned: 10,
    objects: [
      `s3://${bucket}/records/u-1/activity#1/1-x.json`,
      `s3://${bucket}/archive/2026/a`,
      's3://terra-ingest-destination/activity/u-1.fit',
    ],
    markers: [`s3://${bucket}/archive-index/u-1/2026/a`],
  };

  it('names each payload prefix, and other buckets by name', () => {
    expect(placeOf(`s3://${bucket}/events/abc`, bucket)).toBe('s3 events/');
    expect(placeOf(`s3://${bucket}/archive-index/u/x`, bucket)).toBe('s3 archive-index/');
    expect(placeOf('s3://other/k', bucket)).toBe('s3://other');
  });

  it('counts every table and prefix, zeros included', () => {
    expect(Object.fromEntries(countPlaces(footprint, bucket))).toEqual({
      'terra-data': 1,
      'terra-users': 1,
      'terra-events': 2,
      's3 deliveries/': 0,
      's3 archive/': 1,
      's3 records/': 1,
      's3 events/': 0,
      's3 archive-index/': 1,
      's3://terra-ingest-destination': 1,
    });
  });

  it('deletes objects per bucket, at most 1,000 keys a call, each once', () => {
    const urls = Array.from({ length: 2001 }, (_, i) => `s3://${bucket}/archive/${i}`);
    const batches = deleteBatches([...urls, urls[0]!, 's3://other/k']);
    expect(batches.map((batch) => [batch.bucket, batch.keys.length])).toEqual([
      [bucket, 1000],
      [bucket, 1000],
      [bucket, 1],
      ['other', 1],
    ]);
  });
});

describe('erase-user CLI arguments', () => {
  const run = async (...args: string[]) => {
    const output: string[] = [];
    const code = await runEraseUserCli(args, { env: {}, write: (line) => output.push(line) });
    return { code, output: output.join('\n') };
  };

  it('needs exactly one user id', async () => {
    expect(await run()).toMatchObject({ code: 2, output: expect.stringMatching(/exactly one user id/) });
    expect(await run('a', 'b')).toMatchObject({ code: 2 });
  });

  it('refuses unknown options and --region without --stack', async () => {
    expect(await run('u', '--force')).toMatchObject({ code: 2, output: expect.stringMatching(/Usage/) });
    expect(await run('u', '--region', 'eu-west-2')).toMatchObject({ code: 2, output: expect.stringMatching(/--region goes with --stack/) });
  });

  it('prints its usage on --help', async () => {
    expect(await run('--help')).toMatchObject({ code: 0, output: expect.stringMatching(/--yes/) });
  });
});
