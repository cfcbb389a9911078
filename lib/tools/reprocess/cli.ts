import { parseArgs } from 'node:util';
import { parseInstant } from '../replay';
import { type ItemResult, type KeptOutcome, keptOutcomes, type ReceivedWindow, type ReprocessSummary, reprocessKept } from './run';
import { deployedTarget, localTarget } from '../tables';

/** `npm run reprocess`: arguments, progress and the summary; the work is in run.ts. */

export const usage = `Usage: npm run reprocess -- [--outcome invalid|unknown_type|ping_fetch_failed] [--type TYPE]
                            [--from DATE|TIME] [--to DATE|TIME] [--dry-run] [--stack STACK_NAME [--region REGION]]

Runs the bodies kept in terra-events through the current consumer code, with their original
delivery metadata. After an upgrade that learns a type or loosens a rule, what an older version kept
becomes records. A body that became records (or a connection change) is marked outcome=reprocessed
with previous_outcome, reason and reprocessed_at; one still kept gets its new outcome and reason.
A newer copy already stored is never replaced, and running it again changes nothing.

  --outcome O   only kept events with this outcome: invalid, unknown_type or ping_fetch_failed
                (default: all three)
  --type T      only kept events of this Terra type (e.g. hormone, planned_workout)
  --from D      only events received at or after D
  --to D        only events received up to D, inclusive: a date (2026-11-22) takes in that whole
                UTC day, a time (2026-11-22T10:00:00Z) that very instant
                Dates are UTC; a time without a zone is UTC. Without --from/--to: any time.
  --dry-run     route each body and print what it would become; write nothing (a Ping-mode
                payload is not fetched)
  --stack NAME  a deployed stack (tables and bucket from its CloudFormation outputs, your usual
                AWS credentials); default: the local stack of \`npm start\`
                (DynamoDB on \${DYNAMODB_PORT:-8000}, S3 on \${SQS_PORT:-9324})
  --region R    the deployed stack's region (with --stack)
  -h, --help    this text

Exit status: 0 when every selected item was reprocessed, 1 when any failed (listed, with what to
do next), 2 for a usage error.`;

export interface ReprocessArgs {
  outcomes: readonly KeptOutcome[];
  type?: string;
  window: ReceivedWindow;
  dryRun: boolean;
  stack?: string;
  region?: string;
  help: boolean;
}

const dateOnly = /^\d{4}-\d{2}-\d{2}$/;
const dayMs = 24 * 60 * 60 * 1000;

/** `--from` at its instant; `--to` inclusive (a date to the end of its day), kept as an exclusive end. */
export function parseWindow(from: string | undefined, to: string | undefined): ReceivedWindow {
  const window: ReceivedWindow = {};
  if (from !== undefined) window.from = parseInstant(from, '--from');
  if (to !== undefined) {
    const end = parseInstant(to, '--to');
    window.toExclusive = new Date(end.getTime() + (dateOnly.test(to) ? dayMs : 1));
  }
  if (window.from && window.toExclusive && window.from >= window.toExclusive) {
    throw new Error(`--from (${window.from.toISOString()}) is after --to (${to}); --to is inclusive`);
  }
  return window;
}

/** Throws on anything the contract does not allow; the message is for the person who typed it. */
export function parseReprocessArgs(argv: readonly string[]): ReprocessArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      outcome: { type: 'string' },
      type: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      stack: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.outcome !== undefined && !(keptOutcomes as readonly string[]).includes(values.outcome)) {
    throw new Error(`--outcome must be one of ${keptOutcomes.join(', ')}, got "${values.outcome}"`);
  }
  if (values.type !== undefined && values.type.length === 0) throw new Error('--type needs a Terra type, e.g. --type hormone');
  if (values.region !== undefined && values.stack === undefined)
    throw new Error('--region goes with --stack (the local stack has no region)');
  return {
    outcomes: values.outcome ? [values.outcome as KeptOutcome] : keptOutcomes,
    type: values.type,
    window: parseWindow(values.from, values.to),
    dryRun: values['dry-run'],
    stack: values.stack,
    region: values.region,
    help: values.help,
  };
}

function describeWindow({ from, toExclusive }: ReceivedWindow): string {
  if (!from && !toExclusive) return 'any time';
  const start = from ? `from ${from.toISOString()} (inclusive)` : 'from the start';
  const end = toExclusive ? `to ${new Date(toExclusive.getTime() - 1).toISOString()} (inclusive)` : 'to now';
  return `${start} ${end}`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) =>
    row
      .map((cell, column) => cell.padEnd(widths[column]))
      .join('  ')
      .trimEnd(),
  );
}

export function formatSummary(summary: ReprocessSummary, args: Pick<ReprocessArgs, 'dryRun' | 'stack' | 'region'>): string[] {
  const lines = [''];
  const transitions = Object.entries(summary.transitions).sort(([a], [b]) => a.localeCompare(b));
  if (summary.selected === 0) {
    lines.push('Nothing to reprocess: no kept event matches.');
    return lines;
  }
  if (transitions.length > 0) {
    lines.push(args.dryRun ? 'Would become (outcome before → after):' : 'Outcome before → after:');
    lines.push(...table([['  outcome', 'items'], ...transitions.map(([transition, n]) => [`  ${transition}`, String(n)])]));
  }
  lines.push(`Selected:        ${summary.selected}`);
  if (args.dryRun) {
    lines.push('Written:         nothing (dry run)');
  } else {
    lines.push(`Items updated:   ${summary.updated}`);
    lines.push(
      `Records written: ${summary.recordsWritten}${summary.recordsLeftAlone ? ` (${summary.recordsLeftAlone} left alone: a copy as new or newer was already stored)` : ''}`,
    );
  }
  if (summary.moved > 0) lines.push(`Skipped:         ${summary.moved} changed by someone else since they were listed`);
  if (summary.failures.length > 0) {
    lines.push('', `Failed: ${summary.failures.length} (these items are unchanged):`);
    for (const { entry, error } of summary.failures) lines.push(`  ${entry.eventId}  ${entry.outcome}  ${entry.type}: ${error}`);
    const stackArgs = args.stack ? ` --stack ${args.stack}${args.region ? ` --region ${args.region}` : ''}` : '';
    lines.push(
      'Next: fix the cause above (a stopped stack, throttling, no access to the payload bucket) and run the',
      'same command again; what was already reprocessed is not selected again. Look at one with',
      `  npm run inspect -- --events${stackArgs}`,
    );
  }
  return lines;
}

/** A line every `every` items (logs, pipes); on a terminal, one bar redrawn in place. */
export function progressReporter(deps: { write: (line: string) => void; redraw?: (text: string) => void }, every = 100) {
  return (_result: ItemResult, done: number, total: number) => {
    if (deps.redraw) {
      const width = 30;
      const filled = Math.round((done / total) * width);
      deps.redraw(`  [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`);
    } else if (done % every === 0 || done === total) {
      deps.write(`  ${done}/${total} done`);
    }
  };
}

export interface ReprocessCliDeps {
  env: NodeJS.ProcessEnv;
  write: (line: string) => void;
  /** Set on a terminal: rewrites the current line (a progress bar). */
  redraw?: (text: string) => void;
}

/** The whole CLI; returns the exit code. */
export async function runReprocessCli(argv: readonly string[], deps: ReprocessCliDeps): Promise<number> {
  let args: ReprocessArgs;
  try {
    args = parseReprocessArgs(argv);
  } catch (error) {
    deps.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    deps.write(usage);
    return 0;
  }
  const target = args.stack ? await deployedTarget(args.stack, args.region) : localTarget(deps.env);
  try {
    const filters = `outcome ${args.outcomes.join(', ')}; type ${args.type ?? 'any'}; received ${describeWindow(args.window)}`;
    deps.write(`${args.dryRun ? 'Dry run: routing' : 'Reprocessing'} kept events (${filters}) on the ${target.description}`);
    const progress = progressReporter(deps);
    const summary = await reprocessKept(target, {
      ...args,
      onSelected: (total) => deps.write(`  ${total} selected`),
      onItem: (result, done, total) => {
        if (args.dryRun && result.status === 'dry_run') {
          deps.write(
            `  ${result.entry.eventId.slice(0, 16)}  ${result.entry.type}  ${result.entry.outcome} → ${result.outcome}: ${result.reason}`,
          );
        } else {
          progress(result, done, total);
        }
      },
    });
    for (const line of formatSummary(summary, args)) deps.write(line);
    return summary.failures.length > 0 ? 1 : 0;
  } finally {
    target.documentClient.destroy();
    target.s3.destroy();
  }
}
