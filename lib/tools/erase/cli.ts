import { parseArgs } from 'node:util';
import { deployedTarget, localTarget } from '../tables';
import { type EraseResult, eraseUser } from '../../../lambdas/eraser/erase';
import { totalOf } from '../../../lambdas/eraser/places';

/** `npm run erase-user -- <user_id> [--yes] [--stack NAME [--region R]]`: see erase.ts. */

export const usage = `Usage: npm run erase-user -- <user_id> [--yes] [--stack STACK_NAME [--region REGION]]

Erases everything the stack holds about one Terra user: their items in terra-data, terra-users and
terra-events, and their objects in the payload bucket (large records, large kept bodies, archived
deliveries and claim-checked bodies, found through archive-index/<user_id>/). Without --yes, a dry
run: prints what would be deleted, per place, and deletes nothing. Safe to run again.
Local stack by default; with --stack, the deployed stack's tables and bucket (your usual AWS
credentials). An object an item points to in another bucket (a FIT file in Terra's S3 destination
bucket) is deleted too; that bucket is versioned, so its old versions expire with its lifecycle.

  --yes         delete (without it: a dry run)
  --stack NAME  a deployed stack, from its CloudFormation outputs
  --region R    the deployed stack's region (with --stack)
  -h, --help    this text

Exit status: 0 when done (or nothing found), 1 when a call failed (run it again: it resumes),
2 for a usage error.`;

export interface EraseCliDeps {
  env: NodeJS.ProcessEnv;
  write: (line: string) => void;
}

const plural = (count: number, one: string, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

export function formatResult(result: EraseResult): string[] {
  const { footprint, counts, dryRun } = result;
  const total = totalOf(counts);
  const width = Math.max(...counts.map(([place]) => place.length));
  const unit = (place: string, count: number) => plural(count, place.startsWith('terra-') ? 'item' : 'object');
  const lines = counts.map(([place, count]) => `  ${place.padEnd(width)}  ${unit(place, count)}`);
  lines.push(`  (terra-events: ${plural(footprint.eventsScanned, 'item')} scanned to find the user's)`);
  if (total === 0) lines.push(`Nothing found for user ${footprint.userId}: no item in any table, no object in the payload bucket.`);
  else
    lines.push(dryRun ? `Would delete ${total} in all. Nothing was deleted (dry run): pass --yes to erase.` : `Deleted ${total} in all.`);
  return lines;
}

/** The whole CLI; returns the exit code. */
export async function runEraseUserCli(argv: readonly string[], deps: EraseCliDeps): Promise<number> {
  let values: { yes?: boolean; stack?: string; region?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      options: { yes: { type: 'boolean' }, stack: { type: 'string' }, region: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: true,
    }));
    if (values.help) {
      deps.write(usage);
      return 0;
    }
    if (positionals.length !== 1 || positionals[0] === '') throw new Error('exactly one user id is needed');
    if (values.region && !values.stack) throw new Error('--region goes with --stack');
  } catch (error) {
    deps.write(`${(error as Error).message}\n\n${usage}`);
    return 2;
  }

  const [userId] = positionals;
  const dryRun = !values.yes;
  const target = values.stack ? await deployedTarget(values.stack, values.region) : localTarget(deps.env);
  try {
    deps.write(
      `${dryRun ? 'Dry run: looking for' : 'Erasing'} user ${userId} on the ${target.description}, payload bucket ${target.bucket}`,
    );
    const result = await eraseUser(
      { documentClient: target.documentClient, tables: target.tableNames, s3: target.s3, bucket: target.bucket },
      userId,
      { dryRun },
    );
    for (const line of formatResult(result)) deps.write(line);
    return 0;
  } finally {
    target.s3.destroy();
    target.documentClient.destroy();
  }
}
