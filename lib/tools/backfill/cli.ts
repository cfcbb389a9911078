import { parseArgs } from 'node:util';
import { terraApi } from '../../../lambdas/shared/definitions';
import { describeOutcome, isFailure, runBackfill, type WindowOutcome } from './run';
import {
  apiEndpointOf,
  awsCredentialSources,
  type BackfillTarget,
  type CredentialSources,
  CredentialsError,
  openTarget,
  type ResolvedCredentials,
  resolveCredentials,
  type StackRef,
} from './target';
import { createTerraApiClient, type RetryPolicy } from './terra-api-client';
import { progressLine, trackerReader } from './wait';
import { describeWindow, planWindows, typesOf, type Window } from './windows';

/** `npm run backfill`: arguments, what is called, progress and the report; the work is in run.ts. */

/** An unannounced request is complete after this quiet time: an announcement follows within seconds when there is one. */
const defaultGraceMs = 30_000;
const defaultTimeoutSeconds = 900;

export const usage = `Usage: npm run backfill -- --user USER_ID --type TYPE|all --from YYYY-MM-DD --to YYYY-MM-DD
                           [--with-samples] [--wait [--timeout SECONDS]] [--stack STACK_NAME [--region REGION]]

Asks Terra's REST API for a user's history and sees it stored by the same consumer rules as
pushed data (identity, newest wins, archive).

  --user ID       Terra's user_id
  --type T        ${terraApi.types.join(', ')}, or all
  --from D        first day, YYYY-MM-DD (UTC)
  --to D          last day, INCLUSIVE: --to 2026-11-21 takes in that whole day (the request's
                  end_date is exclusive, so it is sent as the day after)
  --with-samples  ask for detailed samples too (larger answers)
  --wait          follow each request Terra sends through the webhook until every announced
                  payload has arrived (progress bar on a terminal, plain lines otherwise). A
                  range of 29-31 days comes as ONE data event with no announcement: it counts
                  as complete once a payload arrived and nothing more came for ${defaultGraceMs / 1000} s
  --timeout S     how long --wait waits, in seconds (default ${defaultTimeoutSeconds})
  --stack NAME    a deployed stack: its webhook queue and tables, Terra's production API, and the
                  credentials in its secret (output ApiCredentialsSecretName)
  --region R      the deployed stack's region (with --stack)
  -h, --help      this text

Ranges up to ${terraApi.synchronousMaxDays} days are asked synchronously (to_webhook=false): the answer is put on the
webhook's queue, ordered by the time of the request. Longer ranges are asked through the webhook
(to_webhook=true): Terra answers with a reference and sends the data (large_request_* and chunks).
Ranges over ${terraApi.requestMaxDays} days are split; the user stays within ${terraApi.userDaysPerHour} requested days per rolling hour
(the command pauses); 429 and 5xx are retried as Retry-After and X-Terra-RateLimit-Reset say.

Which API: TERRA_API_URL if set; else the local stand-in of Terra's API (http://127.0.0.1:\${TERRA_API_PORT:-${terraApi.localPort}})
for the local stack, Terra's ${terraApi.productionUrl} with --stack.
Credentials: TERRA_DEV_ID and TERRA_API_KEY if set; else, with --stack, the stack's secret;
locally, placeholders (the stand-in takes any).

Exit status: 0 when every window was requested (and, with --wait, received in full); 1 when a
window failed or timed out (each listed with the command that retries it); 2 for a usage error.`;

export interface BackfillArgs {
  userId: string;
  windows: Window[];
  type: string;
  from?: string;
  to?: string;
  withSamples: boolean;
  wait: boolean;
  timeoutMs: number;
  stack?: StackRef;
  help: boolean;
}

export function parseBackfillArgs(argv: readonly string[]): BackfillArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      user: { type: 'string' },
      type: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'with-samples': { type: 'boolean' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const base = { withSamples: Boolean(values['with-samples']), wait: Boolean(values.wait), timeoutMs: defaultTimeoutSeconds * 1000 };
  if (values.help) return { ...base, userId: '', windows: [], type: '', help: true };
  if (!values.user) throw new Error('--user is required');
  if (!values.type) throw new Error('--type is required');
  if (values.region && !values.stack) throw new Error('--region goes with --stack');
  let timeoutMs = base.timeoutMs;
  if (values.timeout !== undefined) {
    const seconds = Number(values.timeout);
    if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--timeout must be a number of seconds, got "${values.timeout}"`);
    timeoutMs = seconds * 1000;
  }
  const windows = planWindows({ types: typesOf(values.type), from: values.from, to: values.to });
  return {
    ...base,
    timeoutMs,
    userId: values.user,
    windows,
    type: values.type,
    from: values.from,
    to: values.to,
    stack: values.stack ? { name: values.stack, region: values.region } : undefined,
    help: false,
  };
}

/** The exact command that asks for one window again. */
export function retryCommand(args: Pick<BackfillArgs, 'userId' | 'withSamples' | 'wait' | 'stack'>, window: Window): string {
  const parts = ['npm run backfill --', '--user', args.userId, '--type', window.type];
  if (window.type !== 'athlete') parts.push('--from', window.from, '--to', window.to);
  if (args.withSamples) parts.push('--with-samples');
  if (args.wait) parts.push('--wait');
  if (args.stack) parts.push('--stack', args.stack.name, ...(args.stack.region ? ['--region', args.stack.region] : []));
  return parts.join(' ');
}

export function report(args: BackfillArgs, outcomes: readonly WindowOutcome[]): string[] {
  const lines = ['', 'Outcome per window:'];
  for (const outcome of outcomes) lines.push(`  ${describeWindow(outcome.window)}: ${describeOutcome(outcome)}`);
  const failed = outcomes.filter(isFailure);
  if (failed.length === 0) {
    lines.push(
      args.wait || outcomes.every((outcome) => outcome.status !== 'requested')
        ? 'Done: every window is in the queue or received.'
        : 'Done: every window requested. Terra sends the asynchronous ones through the webhook; follow them with npm run inspect -- --request <reference>, or run again with --wait.',
    );
  } else {
    lines.push('', `${failed.length} of ${outcomes.length} window${outcomes.length === 1 ? '' : 's'} did not arrive. Retry each with:`);
    for (const outcome of failed) lines.push(`  ${retryCommand(args, outcome.window)}`);
    const late = failed.filter((outcome) => outcome.status === 'incomplete');
    if (late.length > 0) {
      // Terra may still be sending: asking again is harmless (newest wins) but costs requested days.
      lines.push('Data of a window that timed out may still arrive; follow it before asking again:');
      for (const outcome of late)
        lines.push(
          `  npm run inspect -- --request ${outcome.reference}${args.stack ? ` --stack ${args.stack.name}${args.stack.region ? ` --region ${args.stack.region}` : ''}` : ''}`,
        );
    }
  }
  return lines;
}

export interface BackfillCliDeps {
  env: NodeJS.ProcessEnv;
  write: (line: string) => void;
  /** Set on a terminal: rewrites the current line (the progress bar). */
  redraw?: (text: string) => void;
  sleep: (ms: number) => Promise<void>;
  now?: () => number;
  fetch?: typeof fetch;
  credentialSources?: CredentialSources;
  /** Tests shorten the pauses; the policy is Terra's otherwise. */
  retry?: Partial<RetryPolicy>;
  /** How often --wait reads the trackers, and how long an unannounced request stays quiet before it counts as complete. */
  pollMs?: number;
  graceMs?: number;
}

/** The whole CLI; returns the exit code. */
export async function runBackfillCli(argv: readonly string[], deps: BackfillCliDeps): Promise<number> {
  let args: BackfillArgs;
  try {
    args = parseBackfillArgs(argv);
  } catch (error) {
    deps.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    deps.write(usage);
    return 0;
  }
  const now = deps.now ?? Date.now;
  const api = apiEndpointOf(deps.env, args.stack);
  let credentials: ResolvedCredentials;
  try {
    credentials = await resolveCredentials(deps.env, args.stack, deps.credentialSources ?? awsCredentialSources);
  } catch (error) {
    if (!(error instanceof CredentialsError)) throw error;
    deps.write(error.message);
    return 1;
  }
  const target: BackfillTarget = await openTarget(deps.env, args.stack);
  try {
    deps.write(`Terra API: ${api.url} (${api.label})`);
    deps.write(`Credentials: ${credentials.source}`);
    deps.write(`Data goes to: ${target.description}, queue ${target.queueUrl}`);
    deps.write(
      `${args.windows.length} request${args.windows.length === 1 ? '' : 's'} for user ${args.userId}${args.to ? ` (--to ${args.to} inclusive)` : ''}`,
    );
    const client = createTerraApiClient({
      baseUrl: api.url,
      credentials: credentials.credentials,
      fetch: deps.fetch ?? fetch,
      sleep: deps.sleep,
      now,
      retry: deps.retry,
      onRetry: (event) =>
        deps.write(
          `  ${event.reason}; retry ${event.attempt + 1} of ${event.maxAttempts} in ${Math.ceil(event.waitMs / 1000)} s${event.source === 'retry-after' ? ' (as Terra asked)' : ''}`,
        ),
    });
    let lastLine = '';
    const outcomes = await runBackfill(
      { userId: args.userId, windows: args.windows, withSamples: args.withSamples },
      {
        client,
        enqueue: target.enqueue,
        now,
        sleep: deps.sleep,
        write: deps.write,
        ledger: [],
        userDaysPerHour: terraApi.userDaysPerHour,
        ...(args.wait && {
          wait: {
            read: trackerReader(target.tables),
            timeoutMs: args.timeoutMs,
            pollMs: deps.pollMs ?? 1_000,
            graceMs: deps.graceMs ?? defaultGraceMs,
            onProgress: (progress) => {
              const line = progressLine(progress);
              if (deps.redraw) deps.redraw(line);
              else if (line !== lastLine) deps.write(line);
              lastLine = line;
            },
          },
        }),
      },
    );
    if (deps.redraw && lastLine) deps.write('');
    for (const line of report(args, outcomes)) deps.write(line);
    return outcomes.some(isFailure) ? 1 : 0;
  } finally {
    target.close();
  }
}
