/**
 * `npm run reprocess -- [--outcome O] [--type T] [--from D --to D] [--dry-run] [--stack TerraIngest --region eu-west-2]`:
 * kept events back through the current consumer. Local stack by default; see lib/tools/reprocess/.
 */
import { runReprocessCli } from '../lib/tools/reprocess/cli';

try {
  process.exitCode = await runReprocessCli(process.argv.slice(2), {
    env: process.env,
    write: (line) => console.log(line),
    // A bar on a terminal; plain lines in a pipe or a CI log.
    redraw: process.stdout.isTTY ? (text) => process.stdout.write(`\r${text}`) : undefined,
  });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`reprocess failed: ${message}`);
  if (/ECONNREFUSED/.test(`${message} ${String((error as { cause?: unknown })?.cause ?? '')}`)) {
    console.error('Is the local stack running? Start it with `npm start` (or pass --stack for a deployed one).');
  }
  process.exitCode = 1;
}
