/**
 * `npm run loadtest [-- --deliveries 10000 --concurrency 32]`: see lib/tools/loadtest.ts.
 * Not part of npm test: it takes tens of seconds and measures this machine as much as the code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../lambdas/shared/logger';
import { startLocalStack } from '../lib/local/local-stack';
import { runLoadtestCli } from '../lib/tools/loadtest/cli';

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

try {
  process.exitCode = await runLoadtestCli(process.argv.slice(2), {
    env: process.env,
    fetch: globalThis.fetch,
    now: Date.now,
    sleep: (ms) => sleep(ms),
    write: (line) => console.log(line),
    readFile: readIfExists,
    randomId: () => randomUUID().slice(0, 8),
    generateSecret: () => randomBytes(32).toString('hex'),
    startStack: (secret) =>
      startLocalStack({ port: 0, dynamoDbPort: 0, sqsPort: 0, signingSecrets: [secret], logger: silentLogger, consumerConcurrency: 4 }),
  });
} catch (error) {
  console.error(`loadtest failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
