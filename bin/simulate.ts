import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { runSimulateCli } from '../lib/tools/simulate';

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

process.exitCode = await runSimulateCli(process.argv.slice(2), {
  env: process.env,
  fetch: globalThis.fetch,
  now: Date.now,
  uuid: randomUUID,
  write: (line) => console.log(line),
  readFile: readIfExists,
});
