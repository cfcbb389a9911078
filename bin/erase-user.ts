/**
 * `npm run erase-user -- <user_id> [--yes] [--stack TerraIngest --region eu-west-2]`: erases
 * everything the stack holds about one user; a dry run without --yes. Local stack by default;
 * see lib/tools/erase/.
 */
import { runEraseUserCli } from '../lib/tools/erase/cli';

try {
  process.exitCode = await runEraseUserCli(process.argv.slice(2), { env: process.env, write: (line) => console.log(line) });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`erase-user failed: ${message}`);
  if (/ECONNREFUSED/.test(`${message} ${String((error as { cause?: unknown })?.cause ?? '')}`)) {
    console.error('Is the local stack running? Start it with `npm start` (or pass --stack for a deployed one).');
  }
  process.exitCode = 1;
}
