/**
 * What every benchmark row shares. On a noisy machine an absolute figure means little: each row
 * sets the product beside a floor (the least any implementation must do for the same work),
 * measured in the same run, the two taking turns, and reports the ratio.
 */
import { performance } from 'node:perf_hooks';

export interface BenchRow {
  /** What is measured, as the table's first column says it. */
  what: string;
  /** The product's figure, formatted with its unit. */
  product: string;
  /** The floor's figure, formatted with its unit. */
  floor: string;
  /** product ÷ floor (for a throughput, the product's rate ÷ the floor's); undefined where there is no floor. */
  ratio?: number;
  /** The goal, as written in the table (`≤ 1.05`, `p50 ≤ 4 ms`). */
  target: string;
  /** Whether the goal holds; undefined where it is informative only. */
  met?: boolean;
}

export interface BenchContext {
  /** Fewer rounds: a quick look, not a figure to quote. */
  quick: boolean;
  /** One line of progress (stderr), so a long run shows it is alive. */
  progress(message: string): void;
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

export const median = (values: readonly number[]): number =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

export const sortedCopy = (values: readonly number[]) => [...values].sort((a, b) => a - b);

/** Milliseconds one call of `work` takes. */
export async function timed(work: () => unknown): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

export interface Paired {
  product: number[];
  floor: number[];
}

/**
 * Runs the two side by side, `rounds` times, alternating which goes first so neither always gets
 * the warmer cache; each sample is what its function resolves to (milliseconds, usually).
 */
export async function interleaved(
  rounds: number,
  product: () => Promise<number>,
  floor: () => Promise<number>,
  onRound?: (round: number) => void,
): Promise<Paired> {
  const samples: Paired = { product: [], floor: [] };
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      samples.product.push(await product());
      samples.floor.push(await floor());
    } else {
      samples.floor.push(await floor());
      samples.product.push(await product());
    }
    onRound?.(round);
  }
  return samples;
}

export const ms = (value: number) => `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
export const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
export const ratioOf = (product: number, floor: number) => product / floor;

/** The row of a cost-like figure where lower is better: met when product ÷ floor ≤ limit. */
export function atMost(what: string, product: number, floor: number, limit: number, format: (value: number) => string): BenchRow {
  const ratio = product / floor;
  return { what, product: format(product), floor: format(floor), ratio, target: `≤ ${limit.toFixed(2)}`, met: ratio <= limit };
}

/** The row of a rate where higher is better: met when product ÷ floor ≥ limit. */
export function atLeast(what: string, product: number, floor: number, limit: number, format: (value: number) => string): BenchRow {
  const ratio = product / floor;
  return { what, product: format(product), floor: format(floor), ratio, target: `≥ ${limit.toFixed(2)}`, met: ratio >= limit };
}

export function markdownTable(rows: readonly BenchRow[]): string {
  const lines = ['| what | product | floor | product ÷ floor | target | met |', '| --- | --- | --- | --- | --- | --- |'];
  for (const row of rows) {
    const met = row.met === undefined ? '' : row.met ? 'yes' : '**no**';
    lines.push(
      `| ${row.what} | ${row.product} | ${row.floor} | ${row.ratio === undefined ? '' : row.ratio.toFixed(2)} | ${row.target} | ${met} |`,
    );
  }
  return lines.join('\n');
}
