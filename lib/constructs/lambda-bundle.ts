import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, buildSync, type BuildOptions, type Metafile } from 'esbuild';

/**
 * How a Lambda under `lambdas/<name>/handler.ts` becomes the code Lambda runs: the stack deploys
 * it and the benchmark measures it, so both go through this one definition.
 *
 * Split, not one file: each dynamic `import()` becomes a chunk of its own that a cold start never
 * reads unless the code path runs (the ingest function's S3 client, needed only for bodies over
 * 1 MiB, is ~200 KB of module evaluation otherwise paid on every cold start). CDK's
 * NodejsFunction cannot do this: it passes esbuild `--outfile`, and splitting needs `--outdir`.
 */

export type LambdaName = 'ingest' | 'consumer' | 'eraser';

export interface LambdaBundle {
  /** Path of the entry module, `index.mjs` (the function's handler is `index.handler`). */
  entry: string;
  /** Bytes a cold start loads: the entry plus every chunk it reaches through static imports. */
  coldBytes: number;
  /** Bytes of every module written, the chunks loaded only by a dynamic `import()` included. */
  totalBytes: number;
}

/**
 * NODE_OPTIONS the functions run with (and the benchmark imports them with): none. With
 * --enable-source-maps Node reads the map of every module it loads, at import: measured in fresh
 * Node 24 processes, ~10 ms of the ingest bundle's ~40 ms import and ~11 of the consumer's ~73;
 * the maps' mere presence costs nothing measurable. They ship beside the code, so setting
 * NODE_OPTIONS=--enable-source-maps on a function maps its stack traces without a deploy.
 */
export const lambdaNodeOptions: string = '';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** The handler source a Lambda is built from. */
export const lambdaEntry = (lambda: LambdaName): string => join(repoRoot, 'lambdas', lambda, 'handler.ts');

function options(entryPath: string, outdir: string): BuildOptions & { metafile: true } {
  return {
    entryPoints: [resolve(entryPath)],
    outdir: resolve(outdir),
    entryNames: 'index',
    chunkNames: 'chunk-[hash]',
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    // ESM because @middy/core ships ESM only.
    format: 'esm',
    platform: 'node',
    target: 'node24',
    mainFields: ['module', 'main'],
    minify: true,
    // Maps beside the code, for reading a stack trace; not read at run time (lambdaNodeOptions).
    sourcemap: true,
    sourcesContent: false,
    // The banner gives CommonJS dependencies that call require() for Node built-ins a working
    // require; esbuild writes it atop every chunk, each being a module of its own.
    banner: {
      js: "import { createRequire as __terraCreateRequire } from 'module'; const require = __terraCreateRequire(import.meta.url);",
    },
    // The AWS SDK is bundled (nothing is external): the function runs the SDK version the tests
    // ran against, not whatever the runtime carries.
    // Entry files outside the repository (the benchmark's floors) resolve packages from it too.
    nodePaths: [join(repoRoot, 'node_modules')],
    absWorkingDir: repoRoot,
    metafile: true,
    logLevel: 'warning',
  };
}

/** Bundles any entry file exactly as a Lambda is bundled (the benchmark's floors use it). */
export function bundleEntrySync(entryPath: string, outdir: string): LambdaBundle {
  return measured(buildSync(options(entryPath, outdir)).metafile, outdir);
}

export async function bundleEntry(entryPath: string, outdir: string): Promise<LambdaBundle> {
  return measured((await build(options(entryPath, outdir))).metafile, outdir);
}

/** Synchronous because CDK's local bundling is. */
export const bundleLambdaSync = (lambda: LambdaName, outdir: string): LambdaBundle => bundleEntrySync(lambdaEntry(lambda), outdir);

export const bundleLambda = (lambda: LambdaName, outdir: string): Promise<LambdaBundle> => bundleEntry(lambdaEntry(lambda), outdir);

/** Sizes from esbuild's metafile, whose output paths are relative to absWorkingDir. */
function measured(metafile: Metafile, outdir: string): LambdaBundle {
  const outputs = metafile.outputs;
  const modules = Object.keys(outputs).filter((path) => path.endsWith('.mjs'));
  // Not the only output with an entryPoint: esbuild gives one to each dynamically imported chunk.
  const entry = resolve(outdir, 'index.mjs');
  const index = modules.find((path) => resolve(repoRoot, path) === entry);
  if (!index) throw new Error(`esbuild wrote no ${entry}`);
  // A cold start evaluates what static imports reach; `dynamic-import` edges wait for their call.
  const cold = new Set<string>();
  const visit = (path: string) => {
    if (cold.has(path)) return;
    cold.add(path);
    for (const edge of outputs[path].imports) if (edge.kind === 'import-statement' && !edge.external) visit(edge.path);
  };
  visit(index);
  const bytes = (paths: Iterable<string>) => [...paths].reduce((sum, path) => sum + outputs[path].bytes, 0);
  return { entry, coldBytes: bytes(cold), totalBytes: bytes(modules) };
}
