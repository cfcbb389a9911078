import { parseArgs } from 'node:util';
import type { LocalStack } from '../../local/local-stack';
import { type LoadPlan, planLoad } from './plan';
import { sendPlan } from './send';
import { type LoadTarget, queueDepth, readUsers, resolveTarget, waitForDrain } from './target';
import { formatReport, judge, passed } from './verdict';

/**
 * `npm run loadtest`: sends thousands of signed deliveries (new records, newer versions, exact
 * repeats, shuffled) and proves that every acknowledged record is stored, newest copy, once.
 */

export interface LoadtestDeps {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  write: (line: string) => void;
  readFile: (path: string) => string | undefined;
  /** Short: it names the run and, without --seed, seeds the plan. */
  randomId: () => string;
  generateSecret: () => string;
  startStack: (secret: string) => Promise<LocalStack>;
}

export interface LoadtestArgs {
  deliveries: number;
  concurrency: number;
  repeatRatio: number;
  url?: string;
  secret?: string;
  seed?: string;
  drainTimeoutSeconds: number;
  help: boolean;
}

export const usage = `Usage: npm run loadtest [-- --deliveries 10000] [--concurrency 32] [--repeat-ratio 0.2]
                        [--url URL] [--secret SECRET] [--seed SEED] [--drain-timeout 300]

Sends signed Terra data webhooks (1–3 versions per record, a share of exact repeats, shuffled),
waits for the queue to drain and checks every acknowledged record is stored once, newest copy.

Target: --url, else the stack npm start runs on \${PORT:-3000}, else an in-memory stack of its own.
Read-back uses DynamoDB on \${DYNAMODB_PORT:-8000} and SQS on \${SQS_PORT:-9324} for a running stack.`;

function positiveNumber(name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (integer && (!Number.isInteger(parsed) || parsed === 0))) {
    throw new Error(`--${name} expects a ${integer ? 'positive integer' : 'number ≥ 0'}, got ${value}`);
  }
  return parsed;
}

export function parseLoadtestArgs(argv: readonly string[]): LoadtestArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      deliveries: { type: 'string' },
      concurrency: { type: 'string' },
      'repeat-ratio': { type: 'string' },
      url: { type: 'string' },
      secret: { type: 'string' },
      seed: { type: 'string' },
      'drain-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    deliveries: positiveNumber('deliveries', values.deliveries, 10_000),
    concurrency: positiveNumber('concurrency', values.concurrency, 32),
    repeatRatio: positiveNumber('repeat-ratio', values['repeat-ratio'], 0.2, false),
    url: values.url,
    secret: values.secret,
    seed: values.seed,
    drainTimeoutSeconds: positiveNumber('drain-timeout', values['drain-timeout'], 300),
    help: values.help ?? false,
  };
}

/** Prints a line each tenth of the way, so a long run shows it is moving. */
function progress(total: number, write: (line: string) => void, started: number, now: () => number) {
  let reported = 0;
  return (settled: number) => {
    const tenth = Math.floor((settled * 10) / total);
    if (tenth <= reported) return;
    reported = tenth;
    write(`  ${settled}/${total} settled after ${((now() - started) / 1000).toFixed(1)} s`);
  };
}

async function run(args: LoadtestArgs, plan: LoadPlan, target: LoadTarget, deps: LoadtestDeps): Promise<boolean> {
  const deadLetteredBefore = await queueDepth(target.sqs, target.deadLetterQueueUrl);

  const started = deps.now();
  const outcomes = await sendPlan(
    plan,
    {
      url: target.webhookUrl,
      secret: target.secret,
      concurrency: args.concurrency,
      onSettled: progress(plan.deliveries.length, deps.write, started, deps.now),
    },
    deps,
  );
  const acknowledgedAt = deps.now();
  const failures = outcomes.filter((outcome) => !outcome.acknowledged);
  for (const failure of failures.slice(0, 5)) deps.write(`  not acknowledged: ${failure.status ?? 'no response'} ${failure.detail ?? ''}`);

  deps.write('Waiting for the queue to drain…');
  const drained = await waitForDrain(() => queueDepth(target.sqs, target.queueUrl), { timeoutMs: args.drainTimeoutSeconds * 1000 }, deps);
  const drainedAt = deps.now();
  const deadLettered = (await queueDepth(target.sqs, target.deadLetterQueueUrl)) - deadLetteredBefore;

  const items = await readUsers(target.documentClient, target.dataTable, plan.userIds);
  const verdict = judge(
    plan,
    outcomes.map((outcome) => outcome.acknowledged),
    items,
  );
  deps.write(
    formatReport(verdict, {
      retries: outcomes.reduce((sum, outcome) => sum + outcome.attempts - 1, 0),
      ackSeconds: (acknowledgedAt - started) / 1000,
      endToEndSeconds: (drainedAt - started) / 1000,
      drained,
      latenciesMs: outcomes.flatMap((outcome) => (outcome.latencyMs === undefined ? [] : [outcome.latencyMs])),
      deadLettered,
    }),
  );
  if (verdict.examples.length > 0) deps.write(`Look one up: npm run inspect -- <user_id>   (run ${plan.runId})`);
  return passed(verdict, drained);
}

/** The whole CLI; returns the exit code. */
export async function runLoadtestCli(argv: readonly string[], deps: LoadtestDeps): Promise<number> {
  let args: LoadtestArgs;
  try {
    args = parseLoadtestArgs(argv);
  } catch (error) {
    deps.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 1;
  }
  if (args.help) {
    deps.write(usage);
    return 0;
  }
  const runId = deps.randomId();
  const seed = args.seed ?? runId;
  let plan: LoadPlan;
  try {
    // Planned before any stack starts, so a bad option fails fast.
    plan = planLoad({ deliveries: args.deliveries, repeatRatio: args.repeatRatio, seed, runId, startMs: deps.now() });
  } catch (error) {
    deps.write((error as Error).message);
    return 1;
  }

  const target = await resolveTarget(args, deps);
  deps.write(`Target: ${target.description}`);
  deps.write(
    `Run ${runId} (seed ${seed}): ${plan.deliveries.length} deliveries of ${plan.records.length} records ` +
      `for ${plan.userIds.length} users, ${plan.deliveries.filter((d) => d.repeat).length} exact repeats, concurrency ${args.concurrency}`,
  );
  try {
    return (await run(args, plan, target, deps)) ? 0 : 1;
  } finally {
    await target.close();
  }
}
