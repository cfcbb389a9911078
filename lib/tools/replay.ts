import { parseArgs } from 'node:util';
import { HeadObjectCommand, paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { readStackOutputs } from './stack-outputs';
import { metadataFromArchive, parseArchiveKey } from '../../lambdas/consumer/archive';
import { payloadBucket, queueSettings } from '../../lambdas/shared/definitions';
import { toClaimCheckMessage } from '../../lambdas/shared/delivery';
import { s3Url } from '../../lambdas/shared/s3-url';
import { localCredentials, localRegion } from '../local/emulators';

/**
 * `npm run replay`: sends archived deliveries back through the consumer, as claim-check messages
 * pointing into `archive/`, with the original delivery metadata. The consumer's writes are
 * conditional on that metadata ("newest wins"), so replaying restores what is missing and changes
 * nothing that is already there.
 */

export interface ReplayRange {
  from: Date;
  to: Date;
}

/** Wider ranges are refused: the archive keeps 30 days, and a typo should not list a year of hours. */
export const maxRangeDays = 31;
const hourMs = 60 * 60 * 1000;
const pingType = 's3_payload';

/** `2026-11-22` (UTC midnight) or an ISO time; a time without a zone is UTC, as the archive's keys are. */
export function parseInstant(value: string, flag: string): Date {
  let parsed: Date | undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) parsed = new Date(`${value}T00:00:00.000Z`);
  const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$/i.exec(value);
  if (time) parsed = new Date(time[3] ? value : `${value}Z`);
  // Date rolls 2026-02-30 over to March; a replay range should refuse it.
  const day = new Date(`${value.slice(0, 10)}T00:00:00.000Z`);
  const realDay = !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value.slice(0, 10);
  if (!parsed || Number.isNaN(parsed.getTime()) || !realDay) {
    throw new Error(`${flag}: expected a date (2026-11-22) or an ISO time (2026-11-22T10:00:00Z), got "${value}"`);
  }
  return parsed;
}

export function parseRange(from: string | undefined, to: string | undefined, maxDays = maxRangeDays): ReplayRange {
  if (!from || !to) throw new Error('both --from and --to are required');
  const range = { from: parseInstant(from, '--from'), to: parseInstant(to, '--to') };
  if (range.from >= range.to) {
    throw new Error(`--from (${range.from.toISOString()}) must be before --to (${range.to.toISOString()}); --to is exclusive`);
  }
  const days = (range.to.getTime() - range.from.getTime()) / (24 * hourMs);
  if (days > maxDays) {
    throw new Error(
      `the range spans ${Math.ceil(days)} days; replay at most ${maxDays} days at a time (the archive keeps ${payloadBucket.archiveRetentionDays} days by default)`,
    );
  }
  return range;
}

/** `archive/YYYY/MM/DD/HH/` for every hour that overlaps [from, to). */
export function hourPrefixes({ from, to }: ReplayRange): string[] {
  const prefixes: string[] = [];
  const last = to.getTime() - 1;
  for (let hour = Math.floor(from.getTime() / hourMs) * hourMs; hour <= last; hour += hourMs) {
    const iso = new Date(hour).toISOString();
    prefixes.push(`${payloadBucket.prefixes.archive}${iso.slice(0, 4)}/${iso.slice(5, 7)}/${iso.slice(8, 10)}/${iso.slice(11, 13)}/`);
  }
  return prefixes;
}

export interface ArchiveEntry {
  key: string;
  receivedAt: Date;
  type: string;
  userId?: string;
}

/** The arrival time back from the key's compact stamp (`20261122T021955164Z`). */
export function parseArchiveEntry(key: string): ArchiveEntry | undefined {
  const parsed = parseArchiveKey(key);
  return parsed && { key, ...parsed };
}

export interface ReplayFilter {
  range: ReplayRange;
  userId?: string;
  type?: string;
}

export type Selection =
  | { kind: 'match'; entry: ArchiveEntry }
  | { kind: 'skip'; reason: 'out_of_range' | 'filtered' | 'ping' | 'unrecognised' };

/**
 * Ping-mode wrappers are left out unless asked for by type: the consumer archived the body it
 * fetched as its own object, and the wrapper's pre-signed URL has long expired.
 */
export function selectKey(key: string, filter: ReplayFilter): Selection {
  const entry = parseArchiveEntry(key);
  if (!entry) return { kind: 'skip', reason: 'unrecognised' };
  if (entry.receivedAt < filter.range.from || entry.receivedAt >= filter.range.to) return { kind: 'skip', reason: 'out_of_range' };
  if ((filter.userId && entry.userId !== filter.userId) || (filter.type && entry.type !== filter.type))
    return { kind: 'skip', reason: 'filtered' };
  if (entry.type === pingType && filter.type !== pingType) return { kind: 'skip', reason: 'ping' };
  return { kind: 'match', entry };
}

export interface ReplayTarget {
  s3: S3Client;
  sqs: SQSClient;
  bucket: string;
  queueUrl: string;
  description: string;
}

export interface ReplaySummary {
  prefixes: number;
  scanned: number;
  matched: number;
  sent: number;
  /** Refused by SendMessageBatch, or without the metadata archiveDelivery writes. */
  failed: number;
  skippedPing: number;
  unrecognised: number;
}

export interface ReplayOptions extends ReplayFilter {
  dryRun?: boolean;
  /** Called for each matched object, before it is sent (or instead, on a dry run). */
  onMatch?: (entry: ArchiveEntry) => void;
  onFailure?: (key: string, reason: string) => void;
}

async function sendBatch(target: ReplayTarget, entries: ArchiveEntry[], options: ReplayOptions): Promise<{ sent: number; failed: number }> {
  const heads = await Promise.all(
    entries.map(async (entry) => ({ entry, head: await target.s3.send(new HeadObjectCommand({ Bucket: target.bucket, Key: entry.key })) })),
  );
  const messages = heads.flatMap(({ entry, head }, index) => {
    const metadata = metadataFromArchive(head.Metadata ?? {});
    if (!Number.isFinite(metadata.signatureTimestamp) || !metadata.receivedAt) {
      options.onFailure?.(entry.key, 'no delivery metadata on the object');
      return [];
    }
    return [{ Id: String(index), ...toClaimCheckMessage(metadata, s3Url(target.bucket, entry.key)) }];
  });
  if (messages.length === 0) return { sent: 0, failed: entries.length };
  const response = await target.sqs.send(new SendMessageBatchCommand({ QueueUrl: target.queueUrl, Entries: messages }));
  for (const failure of response.Failed ?? [])
    options.onFailure?.(entries[Number(failure.Id)].key, failure.Message ?? failure.Code ?? 'refused');
  const sent = response.Successful?.length ?? 0;
  return { sent, failed: entries.length - sent };
}

/** Lists the archive hour by hour, keeps what the filter selects, and sends it in batches of ten. */
export async function replayArchive(target: ReplayTarget, options: ReplayOptions): Promise<ReplaySummary> {
  const prefixes = hourPrefixes(options.range);
  const summary: ReplaySummary = { prefixes: prefixes.length, scanned: 0, matched: 0, sent: 0, failed: 0, skippedPing: 0, unrecognised: 0 };
  let pending: ArchiveEntry[] = [];
  const flush = async () => {
    if (pending.length === 0 || options.dryRun) return;
    const result = await sendBatch(target, pending, options);
    summary.sent += result.sent;
    summary.failed += result.failed;
    pending = [];
  };
  for (const prefix of prefixes) {
    for await (const page of paginateListObjectsV2({ client: target.s3 }, { Bucket: target.bucket, Prefix: prefix })) {
      for (const { Key: key } of page.Contents ?? []) {
        if (!key) continue;
        summary.scanned++;
        const selection = selectKey(key, options);
        if (selection.kind === 'skip') {
          if (selection.reason === 'ping') summary.skippedPing++;
          if (selection.reason === 'unrecognised') summary.unrecognised++;
          continue;
        }
        summary.matched++;
        options.onMatch?.(selection.entry);
        pending.push(selection.entry);
        if (pending.length === 10) await flush();
      }
    }
  }
  await flush();
  return summary;
}

/** The local stack's bucket and queue; the queue URL comes from fauxqs, which picks its form. */
export async function localReplayTarget(env: Record<string, string | undefined>): Promise<ReplayTarget> {
  const endpoint = `http://127.0.0.1:${env.SQS_PORT || 9324}`;
  const config = { endpoint, region: localRegion, credentials: localCredentials };
  // fauxqs serves S3 on the SQS port, path-style.
  const [s3, sqs] = [new S3Client({ ...config, forcePathStyle: true }), new SQSClient(config)];
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueSettings.localName }));
    return { s3, sqs, bucket: payloadBucket.localName, queueUrl: QueueUrl!, description: `local stack (${endpoint})` };
  } catch (error) {
    s3.destroy();
    sqs.destroy();
    throw error;
  }
}

/** The bucket and queue from the stack's outputs, with the caller's usual AWS credentials. */
export async function deployedReplayTarget(stackName: string, region?: string): Promise<ReplayTarget> {
  const output = await readStackOutputs(stackName, region);
  const [bucket, queueUrl] = [output('PayloadBucketName'), output('QueueUrl')];
  return { s3: new S3Client({ region }), sqs: new SQSClient({ region }), bucket, queueUrl, description: `stack ${stackName}` };
}

export const usage = `Usage: npm run replay -- --from <date|ISO time> --to <date|ISO time> [--user USER_ID] [--type TYPE] [--dry-run] [--stack STACK_NAME --region REGION]

Sends archived deliveries received in [--from, --to) back through the consumer, with their original
ordering metadata: missing records come back, newer ones are left alone, and a second replay changes
nothing. Dates are UTC midnight (2026-11-22); times are ISO (2026-11-22T10:00:00Z). At most ${maxRangeDays} days.
Local stack by default (S3 and SQS on \${SQS_PORT:-9324}); with --stack, the deployed stack's bucket and queue.`;

export function formatSummary(summary: ReplaySummary, options: ReplayOptions & { stackArgs?: string }): string[] {
  const { range, userId, type, dryRun } = options;
  const lines = [
    `Range:     ${range.from.toISOString()} (inclusive) → ${range.to.toISOString()} (exclusive), ${summary.prefixes} hour prefix${summary.prefixes === 1 ? '' : 'es'}`,
    `Filters:   user ${userId ?? 'any'}, type ${type ?? 'any'}`,
    `Scanned:   ${summary.scanned} archived object${summary.scanned === 1 ? '' : 's'}`,
    `Matched:   ${summary.matched}`,
    dryRun ? 'Sent:      0 (dry run: nothing was sent)' : `Sent:      ${summary.sent}${summary.failed ? `, ${summary.failed} failed` : ''}`,
  ];
  if (summary.skippedPing > 0) {
    lines.push(
      `Skipped:   ${summary.skippedPing} s3_payload (Ping-mode) wrapper${summary.skippedPing === 1 ? '' : 's'}: the consumer archived each fetched body as its own object,` +
        ' which is replayed instead, and their pre-signed URLs have expired. Pass --type s3_payload to send them anyway.',
    );
  }
  if (type === pingType && summary.matched > 0) {
    lines.push(
      'Note:      s3_payload wrappers carry pre-signed URLs that have most likely expired; the consumer keeps those as ping_fetch_failed events.',
    );
  }
  if (summary.unrecognised > 0)
    lines.push(`Ignored:   ${summary.unrecognised} object${summary.unrecognised === 1 ? '' : 's'} not named like an archived delivery`);
  if (!dryRun && summary.sent > 0) {
    const who = userId ?? '<user_id>';
    lines.push(`Watch the consumer store them: npm run inspect -- ${who}${type ? ` --type ${type}` : ''}${options.stackArgs ?? ''}`);
  }
  return lines;
}

export interface ReplayCliDeps {
  env: Record<string, string | undefined>;
  write: (line: string) => void;
}

/** The whole CLI; returns the exit code. */
export async function runReplayCli(argv: readonly string[], deps: ReplayCliDeps): Promise<number> {
  let values: {
    from?: string;
    to?: string;
    user?: string;
    type?: string;
    'dry-run'?: boolean;
    stack?: string;
    region?: string;
    help?: boolean;
  };
  let range: ReplayRange;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        user: { type: 'string' },
        type: { type: 'string' },
        'dry-run': { type: 'boolean' },
        stack: { type: 'string' },
        region: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
    if (values.help) {
      deps.write(usage);
      return 0;
    }
    range = parseRange(values.from, values.to);
  } catch (error) {
    deps.write(`${(error as Error).message}\n\n${usage}`);
    return 1;
  }

  const target = values.stack ? await deployedReplayTarget(values.stack, values.region) : await localReplayTarget(deps.env);
  try {
    const dryRun = values['dry-run'] ?? false;
    const options: ReplayOptions = {
      range,
      userId: values.user,
      type: values.type,
      dryRun,
      onMatch: dryRun
        ? (entry) => deps.write(`  ${entry.receivedAt.toISOString()}  ${entry.type}  ${entry.userId ?? '-'}  ${entry.key}`)
        : undefined,
      onFailure: (key, reason) => deps.write(`  not sent: ${key}: ${reason}`),
    };
    deps.write(
      `${dryRun ? 'Would replay' : 'Replaying'} from s3://${target.bucket}/${payloadBucket.prefixes.archive} to ${target.queueUrl} on the ${target.description}`,
    );
    const summary = await replayArchive(target, options);
    const stackArgs = values.stack ? ` --stack ${values.stack}${values.region ? ` --region ${values.region}` : ''}` : '';
    for (const line of formatSummary(summary, { ...options, stackArgs })) deps.write(line);
    return summary.failed > 0 ? 1 : 0;
  } finally {
    target.s3.destroy();
    target.sqs.destroy();
  }
}
