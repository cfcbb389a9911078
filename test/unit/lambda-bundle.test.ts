import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bundleLambdaSync, type LambdaBundle } from '../../lib/constructs/lambda-bundle';

/**
 * The bundles the stack deploys: a cold start loads the entry and what it imports statically; a
 * dynamic import() is a chunk of its own, loaded when it runs. The cold graph is read here from
 * the files themselves, not from esbuild's metafile that coldBytes is computed from.
 */

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'terra-ingest-bundle-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const staticImport = /(?:from|import)\s*"\.\/(chunk-[\w-]+\.mjs)"/g;

/** The modules an `import` of the entry evaluates: it and every chunk reached by static imports. */
function coldModules(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (path: string) => {
    if (seen.has(path)) return;
    seen.add(path);
    for (const [, chunk] of readFileSync(path, 'utf8').matchAll(staticImport)) visit(join(dirname(path), chunk));
  };
  visit(entry);
  return [...seen];
}

const modulesOf = (bundle: LambdaBundle) =>
  readdirSync(dirname(bundle.entry))
    .filter((name) => name.endsWith('.mjs'))
    .map((name) => join(dirname(bundle.entry), name));
const bytes = (paths: string[]) => paths.reduce((sum, path) => sum + statSync(path).size, 0);
// S3's service id, which its client and each of its commands carry as a string minifying keeps.
const containsS3Client = (path: string) => readFileSync(path, 'utf8').includes('"AmazonS3"');

test('the ingest cold start loads no S3 code: what it imports dynamically is in chunks outside the cold graph', () => {
  const ingest = bundleLambdaSync('ingest', join(work, 'ingest'));
  const cold = coldModules(ingest.entry);
  const lazy = modulesOf(ingest).filter((path) => !cold.includes(path));

  expect(cold.filter(containsS3Client)).toEqual([]);
  expect(lazy.some(containsS3Client)).toBe(true);
  expect(ingest.coldBytes).toBe(bytes(cold));
  expect(ingest.totalBytes).toBe(bytes(modulesOf(ingest)));
});

test.each(['consumer', 'eraser'] as const)('the %s bundle builds, its entry index.mjs among the modules it counts', (lambda) => {
  const bundle = bundleLambdaSync(lambda, join(work, lambda));

  expect(bundle.entry).toBe(join(work, lambda, 'index.mjs'));
  expect(readFileSync(bundle.entry, 'utf8')).toMatch(/export\s*\{[^}]*\bhandler\b/);
  expect(bundle.coldBytes).toBe(bytes(coldModules(bundle.entry)));
  expect(bundle.totalBytes).toBe(bytes(modulesOf(bundle)));
});
