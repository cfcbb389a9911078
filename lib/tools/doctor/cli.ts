import { parseArgs } from 'node:util';
import { SQSClient } from '@aws-sdk/client-sqs';
import { erasure } from '../../../lambdas/shared/definitions';
import { localCredentials, localRegion } from '../../local/emulators';
import { formatRequest } from '../inspect';
import { deployedTarget, localTarget, type TableTarget } from '../tables';
import { claimCheckReads, deadLetterQueues, peekVisibilitySeconds } from './dead-letters';
import { diagnose, staleAfterDays } from './diagnose';
import type { Diagnosis, UserFacts } from './facts';
import { gatherFacts, pingFailureDays, type Resolution, resolveId } from './find';
import { formatReport } from './report';

/** `npm run doctor`: arguments, the search for the user, and the answer; the reading is in find.ts, the reasoning in diagnose.ts. */

export const usage = `Usage: npm run doctor -- <user_id | reference_id | terra-reference> [--json] [--limit N]
                         [--dead-letters N] [--stack STACK_NAME [--region REGION]]

"Where is my data?" Answers the questions of Terra's guide to missing data from what the stack
holds, then says what to try next:
- the connection: status, provider, the athlete profile's provider user id (is it the right
  account?), and its history of connection events (auth, deauth, connection_error, …) from the raw
  archive, which keeps every delivery for 30 days: terra-users keeps the latest state only;
- the last delivery, and the newest record of each type with its date;
- the user's kept events (terra-events: invalid, unknown_type, rejected_by_storage, recorded),
  newest first;
- the user's messages in every dead-letter queue of the stack (webhook, Terra's SQS destination,
  S3 destination; erase on deauth's where it is on), peeked without consuming: received with a ${peekVisibilitySeconds} s visibility, then made visible
  again at once; claim-checked bodies are read (up to ${claimCheckReads});
- backfills in flight (terra-events large_request#<terra-reference> trackers of the user).

The id may be Terra's user_id; your reference_id for the user (the terra-users reference-id index;
one reference_id may name several connections: each is diagnosed); or a backfill's terra-reference
(large_request#<reference> or the bare reference), which leads to its user.

A gap is a backfillable type (activity, body, daily, sleep, menstruation, nutrition) whose newest
record is more than ${staleAfterDays} days before today; while any type is newer than that, the connection is
alive and the next step is the backfill command for that type (dates are the record's local date
and today in UTC; --to inclusive); when every type is older, the device has probably not synced.

  --json            the facts and the diagnosis as JSON
  --limit N         kept events listed (newest first; all are counted); default 10
  --dead-letters N  messages examined per dead-letter queue at most; default 1000
  --stack NAME      a deployed stack (tables, bucket and queues from its CloudFormation outputs,
                    your usual AWS credentials); default: the local stack of \`npm start\`
                    (DynamoDB on \${DYNAMODB_PORT:-8000}, SQS and S3 on \${SQS_PORT:-9324})
  --region R        the deployed stack's region (with --stack)
  -h, --help        this text

Reads only. Costs: Gets and Queries on the tables and their indexes, one Scan of terra-events
filtered on the user (its cost is that table's size), S3 listings of the user's archive index,
and ${pingFailureDays} days of the outcome index for failed Ping downloads (stack-wide: a Ping names no user).

Exit status: 0 when the user was found and diagnosed, 1 when the id names nothing on this stack or
a read failed, 2 for a usage error.`;

export interface DoctorArgs {
  id: string;
  json: boolean;
  limit: number;
  deadLetters: number;
  stack?: string;
  region?: string;
  help: boolean;
}

const positive = (value: string | undefined, name: string, fallback: number): number => {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new Error(`${name} needs a whole number of at least 1, got "${value}"`);
  return parsed;
};

/** Throws on anything the contract does not allow; the message is for the person who typed it. */
export function parseDoctorArgs(argv: readonly string[]): DoctorArgs {
  const { values, positionals } = parseArgs({
    args: [...argv],
    options: {
      json: { type: 'boolean', default: false },
      limit: { type: 'string' },
      'dead-letters': { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  const args = {
    id: positionals[0] ?? '',
    json: values.json,
    limit: positive(values.limit, '--limit', 10),
    deadLetters: positive(values['dead-letters'], '--dead-letters', 1000),
    stack: values.stack,
    region: values.region,
    help: values.help,
  };
  if (args.help) return args;
  if (positionals.length !== 1 || args.id.length === 0) throw new Error('give one user_id, reference_id or terra-reference');
  if (values.region !== undefined && values.stack === undefined)
    throw new Error('--region goes with --stack (the local stack has no region)');
  return args;
}

export function unknownIdMessage(id: string, target: Pick<TableTarget, 'description'>): string {
  return [
    `No user, reference_id or backfill reference "${id}" on the ${target.description}.`,
    'Looked in terra-users (user_id, then the reference-id index), terra-events (large_request#<id>), terra-data and the archive index.',
    'Check next:',
    '  - is this the right stack? The local stack of `npm start` by default; --stack NAME [--region R] for a deployed one.',
    "  - is it the right id? Terra's user_id is in Terra's dashboard (Tools > Debug > Users) and in the auth event; a reference_id is",
    "    your app's own id for the user, as passed to Terra's widget.",
    '  - did the user connect just now? The auth event may still be on its way (or in a dead-letter queue: npm run redrive).',
    `  - did the user disconnect? A stack deployed with eraseOnDeauth erases a user ${erasure.delaySeconds / 60} minutes after their deauth or access_revoked.`,
  ].join('\n');
}

function heading(userId: string, resolution: Resolution, id: string, target: TableTarget): string {
  const via =
    resolution.found === 'reference_id'
      ? ` (found by reference_id ${id})`
      : resolution.found === 'backfill reference'
        ? ` (found by backfill ${resolution.reference})`
        : resolution.found === 'records only'
          ? ' (seen in terra-data or the archive only)'
          : '';
  return `terra-ingest doctor · ${target.description} · user ${userId}${via}`;
}

export interface DoctorCliDeps {
  env: NodeJS.ProcessEnv;
  write: (text: string) => void;
  now?: () => Date;
}

/** The whole CLI; returns the exit code. */
export async function runDoctorCli(argv: readonly string[], deps: DoctorCliDeps): Promise<number> {
  let args: DoctorArgs;
  try {
    args = parseDoctorArgs(argv);
  } catch (error) {
    deps.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    deps.write(usage);
    return 0;
  }
  const now = deps.now?.() ?? new Date();
  const target = args.stack ? await deployedTarget(args.stack, args.region) : localTarget(deps.env);
  const sqs = args.stack
    ? new SQSClient({ region: args.region })
    : new SQSClient({ endpoint: `http://127.0.0.1:${deps.env.SQS_PORT || 9324}`, region: localRegion, credentials: localCredentials });
  try {
    const resolution = await resolveId(target, args.id);
    if (resolution.found === 'nothing') {
      deps.write(unknownIdMessage(args.id, target));
      return 1;
    }
    if (resolution.found === 'backfill reference' && resolution.userIds.length === 0) {
      deps.write(
        `${formatRequest(resolution.reference, resolution.tracker)}\nThis backfill names no user yet (no announcement or chunk with a user has arrived).`,
      );
      return 0;
    }
    if (resolution.userIds.length > 1)
      deps.write(
        `reference_id ${args.id} names ${resolution.userIds.length} connections, newest first: ${resolution.userIds.join(', ')}\n`,
      );
    const queues = await deadLetterQueues(sqs, args.stack ? { name: args.stack, region: args.region } : undefined);
    const claimChecks = { left: claimCheckReads };
    const reports: { facts: UserFacts; diagnosis: Diagnosis }[] = [];
    for (const userId of resolution.userIds) {
      const facts = await gatherFacts(target, userId, {
        now,
        keptLimit: args.limit,
        sqs,
        deadLetterQueues: queues,
        deadLetterMax: args.deadLetters,
        claimChecks,
        // In AWS a long poll asks every server: a short one may miss messages that are there.
        waitTimeSeconds: args.stack ? 1 : 0,
      });
      const diagnosis = diagnose(facts, { now, stack: args.stack, region: args.region });
      if (args.json) reports.push({ facts, diagnosis });
      else deps.write(`${formatReport(facts, diagnosis, heading(userId, resolution, args.id, target))}\n`);
    }
    if (args.json) {
      const json = { target: target.description, id: args.id, found: resolution.found, at: now.toISOString(), users: reports };
      deps.write(JSON.stringify(json, (_key, value) => (value instanceof Set ? [...value] : value), 2));
    }
    return 0;
  } finally {
    target.documentClient.destroy();
    target.s3.destroy();
    sqs.destroy();
  }
}
