/**
 * `npm run doctor -- <user_id | reference_id | terra-reference> [--json] [--stack TerraIngest --region eu-west-2]`:
 * "where is my data?" for one user, and the next step to try. Local stack by default; see lib/tools/doctor/.
 */
import { runDoctorCli } from '../lib/tools/doctor/cli';

try {
  process.exitCode = await runDoctorCli(process.argv.slice(2), { env: process.env, write: (text) => console.log(text) });
} catch (error) {
  const message = error instanceof Error ? error.message : String(error);
  console.error(`doctor failed: ${message}`);
  if (/ECONNREFUSED/.test(`${message} ${String((error as { cause?: unknown })?.cause ?? '')}`)) {
    console.error('Is the local stack running? Start it with `npm start` (or pass --stack for a deployed one).');
  }
  process.exitCode = 1;
}
