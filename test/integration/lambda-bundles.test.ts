import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The artifacts `cdk deploy` would upload, not the sources: both Lambda bundles, as esbuild made
 * them for Node 24 ESM, answer a webhook and store it against the local stand-ins.
 */

let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'terra-ingest-synth-'));
  execFileSync('node_modules/.bin/cdk', ['synth', '-q', '-o', out], { env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' }, stdio: 'ignore' });
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

function bundleUsing(variable: string): string {
  const assets = readdirSync(out).filter((name) => name.startsWith('asset.')).map((name) => join(out, name, 'index.mjs'));
  const found = assets.filter((path) => readFileSync(path, 'utf8').includes(variable));
  if (found.length !== 1) throw new Error(`expected one bundle reading ${variable}, found ${found.length}`);
  return found[0];
}

test('the synthesized ingest and consumer bundles verify, enqueue, claim-check and store', () => {
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'test/support/bundle-smoke.ts', bundleUsing('SIGNING_SECRET_ID'), bundleUsing('EVENTS_TABLE')], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const result = JSON.parse(output.trim().split('\n').pop()!);
  expect(result).toEqual({ statuses: [200, 200, 401], queued: 2, claimChecked: 1, batch: { batchItemFailures: [] }, stored: 'sleep#s1' });
}, 120_000);
