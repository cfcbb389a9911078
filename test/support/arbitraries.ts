/**
 * Shared fast-check arbitraries for the property tests (issue 8, "bad input, tried
 * systematically"): valid Terra events built from the simulator's fixtures, the hostile variants
 * of them an authenticated sender could still produce, and the mutations of a valid signature
 * header an unauthenticated one could try.
 *
 * Seeded and reproducible: every property of a run uses one seed, `$FC_SEED` when set, else
 * `defaultSeed`. A failure prints fast-check's seed, path and shrunk counterexample, and the
 * command that replays the run.
 */
export * from './arbitraries/damaged-bytes';
export * from './arbitraries/hostile-bodies';
export * from './arbitraries/hostile-pings';
export * from './arbitraries/signature-headers';
export * from './arbitraries/terra-events';

/** The run's seed when `$FC_SEED` is not set: fixed, so `npm test` is the same run every time. */
export const defaultSeed = 20_261_122;

export function propertySeed(env: NodeJS.ProcessEnv = process.env): number {
  const value = env.FC_SEED;
  if (value === undefined || value.trim() === '') return defaultSeed;
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new Error(`FC_SEED must be an integer, got "${value}"`);
  return seed;
}

/**
 * Generated cases per property, per run: at least 10,000 in all, the consumer's share at least
 * 2,000 (each of its cases is a real message through dynalite and fauxqs' S3).
 */
export const propertyRuns = {
  ingest: {
    unauthenticated: 6_000,
    garbageEncodings: 1_000,
    authentic: 2_000,
    sourceAllowlist: 1_000,
  },
  consumer: {
    hostileBodies: 2_000,
    hostilePings: 200,
  },
} as const;

export const totalPropertyRuns = Object.values(propertyRuns)
  .flatMap((runs) => Object.values(runs) as number[])
  .reduce((sum, runs) => sum + runs, 0);

/** How to replay a failed run, appended to fast-check's own report (which names seed and path). */
export function replayHint(seed: number, script: 'test:unit' | 'test:integration', file: string): string {
  return `Replay this run: FC_SEED=${seed} npm run ${script} -- ${file}`;
}
