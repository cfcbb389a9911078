import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The artifacts `cdk deploy` would upload, not the sources: the Lambda bundles, as esbuild made
 * them for Node 24 ESM, answer a webhook and store it against the local stand-ins.
 */

let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'terra-ingest-synth-'));
  // With erase on deauth, so the eraser's bundle is made too.
  execFileSync('node_modules/.bin/cdk', ['synth', '-q', '-o', out, '-c', 'eraseOnDeauth=true'], {
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
    stdio: 'ignore',
  });
}, 120_000);
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** The entry (index.mjs) of the one bundle whose modules, its chunks included, contain `text`. */
function bundleUsing(text: string): string {
  const assets = readdirSync(out, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.startsWith('asset.'))
    .map((entry) => join(out, entry.name));
  const modules = (asset: string) =>
    readdirSync(asset)
      .filter((name) => name.endsWith('.mjs'))
      .map((name) => join(asset, name));
  const found = assets.filter((asset) => modules(asset).some((path) => readFileSync(path, 'utf8').includes(text)));
  if (found.length !== 1) throw new Error(`expected one bundle containing ${text}, found ${found.length}`);
  return join(found[0], 'index.mjs');
}

test('the synthesized ingest, consumer and eraser bundles verify, enqueue, claim-check, store and erase', () => {
  const bundles = [bundleUsing('SIGNING_SECRET_ID'), bundleUsing('ERASE_QUEUE_URL'), bundleUsing('user erased')];
  const output = execFileSync(process.execPath, ['--import', 'tsx', 'test/support/bundle-smoke.ts', ...bundles], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  const result = JSON.parse(output.trim().split('\n').pop()!);
  expect(result).toEqual({
    statuses: [200, 200, 401],
    queued: 2,
    claimChecked: 1,
    batch: { batchItemFailures: [] },
    stored: 'sleep#s1',
    erase: { batchItemFailures: [] },
    left: 0,
  });
}, 120_000);
