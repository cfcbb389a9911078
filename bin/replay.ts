/**
 * `npm run replay -- --from 2026-11-22 --to 2026-11-23 [--user ID] [--type TYPE] [--dry-run] [--stack TerraIngest --region eu-west-2]`:
 * archived deliveries back through the consumer. Local stack by default; see lib/tools/replay.ts.
 */
import { runReplayCli } from '../lib/tools/replay';

try {
  process.exitCode = await runReplayCli(process.argv.slice(2), { env: process.env, write: (line) => console.log(line) });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`replay failed: ${message}`);
  if (/ECONNREFUSED/.test(`${message} ${String((error as { cause?: unknown })?.cause ?? '')}`)) {
    console.error('Is the local stack running? Start it with `npm start` (or pass --stack for a deployed one).');
  }
  process.exitCode = 1;
}
