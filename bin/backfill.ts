/**
 * `npm run backfill -- --user U --type activity|…|all --from D --to D [--wait] [--stack NAME]`:
 * asks Terra's REST API (the local stand-in by default) for history; see lib/tools/backfill/.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runBackfillCli } from '../lib/tools/backfill/cli';

try {
  process.exitCode = await runBackfillCli(process.argv.slice(2), {
    env: process.env,
    write: (line) => console.log(line),
    ...(process.stdout.isTTY && { redraw: (text: string) => process.stdout.write(`\r${text}`) }),
    sleep: (ms) => sleep(ms),
  });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`backfill failed: ${message}`);
  if (/ECONNREFUSED/.test(`${message} ${String((error as { cause?: unknown })?.cause ?? '')}`)) {
    console.error('Is the local stack running? Start it with `npm start` (or pass --stack for a deployed one).');
  }
  process.exitCode = 1;
}
