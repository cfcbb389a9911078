/**
 * `npm run bench`: every row of the performance table, each beside its floor measured in the same
 * run. Prints the markdown table and, for a full run, writes it to bench/RESULTS.md with the
 * machine it ran on. Not part of `npm test`: figures are measured here, never asserted in tests.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, release, totalmem, type } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type BenchContext, type BenchRow, markdownTable } from './support';

const groups = {
  'ingest-warm': async (context: BenchContext) => (await import('./ingest-warm')).run(context),
  cold: async (context: BenchContext) => (await import('./cold')).run(context),
  consumer: async (context: BenchContext) => (await import('./consumer')).run(context),
  local: async (context: BenchContext) => (await import('./local')).run(context),
  cost: async (context: BenchContext) => (await import('./cost')).run(context),
} as const;
type Group = keyof typeof groups;

const usage = `Usage: npm run bench [-- options]

Measures terra-ingest beside its floors, interleaved, and prints one markdown table.
A full run writes the table to bench/RESULTS.md with the machine it ran on (~15 minutes).

Options:
  --only GROUPS     comma-separated: ${Object.keys(groups).join(', ')} (default: all)
  --quick           fewer rounds: a quick look, not a figure to quote
  --out FILE        also write the table to FILE (a full run writes bench/RESULTS.md)
  --url URL         measure a deployed webhook endpoint instead (needs --secret)
  --secret S        the endpoint's signing secret (with --url)
  --requests N      requests per row against --url (default 300)
  -h, --help        this help

Examples:
  npm run bench
  npm run bench -- --only ingest-warm,cold --quick
  npm run bench -- --url https://abc.execute-api.eu-west-2.amazonaws.com/webhook --secret "$TERRA_SIGNING_SECRET"`;

function progressReporter(): BenchContext['progress'] {
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  if (process.stderr.isTTY) {
    return (message) => process.stderr.write(`\r\x1b[2K[${elapsed()}] ${message}`);
  }
  return (message) => process.stderr.write(`[${elapsed()}] ${message}\n`);
}

function machine(): string {
  const cores = cpus();
  let commit = 'unknown';
  try {
    const root = fileURLToPath(new URL('..', import.meta.url));
    commit = execFileSync('git', ['describe', '--always', '--dirty'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    // Not a git checkout: the figures still stand, without a commit.
  }
  return [
    `- machine: ${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, ${type()} ${release()}`,
    `- Node ${process.version}, commit ${commit}, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC`,
  ].join('\n');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      url: { type: 'string' },
      secret: { type: 'string' },
      requests: { type: 'string', default: '300' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const progress = progressReporter();
  const context: BenchContext = { quick: values.quick, progress };
  let rows: BenchRow[] = [];
  if (values.url) {
    if (!values.secret) throw new Error('--url needs --secret: the signing secret of that endpoint');
    const requests = Number(values.requests);
    if (!Number.isInteger(requests) || requests < 1) throw new Error('--requests must be a positive whole number');
    rows = await (await import('./deployed')).run(context, { url: values.url, secret: values.secret, requests });
  } else {
    const chosen = (values.only?.split(',').map((name) => name.trim()) ?? Object.keys(groups)) as Group[];
    const unknown = chosen.filter((name) => !(name in groups));
    if (unknown.length > 0) throw new Error(`unknown group ${unknown.join(', ')}; choose from ${Object.keys(groups).join(', ')}`);
    for (const group of chosen) {
      progress(`${group}: starting`);
      rows.push(...(await groups[group](context)));
    }
  }
  if (process.stderr.isTTY) process.stderr.write('\n');
  const table = markdownTable(rows);
  console.log(table);
  const full = !values.url && !values.only && !values.quick;
  const out = values.out ?? (full ? fileURLToPath(new URL('./RESULTS.md', import.meta.url)) : undefined);
  if (out) {
    const appendix = full || values.only?.includes('cost') ? await (await import('./cost')).breakdown?.() : undefined;
    writeFileSync(
      out,
      [
        '# Benchmark results',
        '',
        'Written by `npm run bench`; each row sets the product beside its floor, measured interleaved in the same run. See README.md, "Performance".',
        '',
        machine(),
        '',
        table,
        ...(appendix ? ['', appendix] : []),
        '',
      ].join('\n'),
    );
    console.error(`written to ${out}`);
  }
  const missed = rows.filter((row) => row.met === false).length;
  if (missed > 0) console.error(`${missed} of ${rows.length} rows miss their target`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`\nbench failed: ${(error as Error).message}`);
    console.error('Run `npm run bench -- --help` for the options; `--only <group> --quick` narrows a failing run down.');
    process.exit(1);
  },
);
