/**
 * `npm run redrive [-- --stack TerraIngest --region eu-west-2]`: dead-lettered messages back to
 * the queues they came from (webhook and Terra's destinations), Terra's SQS destination's stamped
 * with their original SentTimestamp. Local stack by default; see lib/tools/redrive.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runRedriveCli } from '../lib/tools/redrive';

try {
  process.exitCode = await runRedriveCli(process.argv.slice(2), {
    env: process.env,
    write: (line) => console.log(line),
    sleep: (ms) => sleep(ms),
  });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`redrive failed: ${message}`);
  if (/ECONNREFUSED/.test(`${message} ${String((error as { cause?: unknown })?.cause ?? '')}`)) {
    console.error('Is the local stack running? Start it with `npm start` (or pass --stack for a deployed one).');
  }
  process.exitCode = 1;
}
