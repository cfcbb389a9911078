import {
  type DataType,
  type Rng,
  TERRA_API_VERSION,
  localDate,
  seededRng,
  stableNumericId,
  stableUuid,
  terraTime,
  terraUser,
} from '../fixtures';

/**
 * What a load test sends: records in one to three versions each, some deliveries repeated byte
 * for byte, all shuffled. Pure: the same options give the same plan, so a failing run can be
 * replayed with its seed and run id.
 */

export interface PlanOptions {
  deliveries: number;
  /** Share of the deliveries that are exact repeats of another one, as Terra's retries are. */
  repeatRatio: number;
  seed: string;
  /** Makes user ids unique to the run, so a persistent local stack's older data never mixes in. */
  runId: string;
  /** Epoch ms: the first ordering timestamp and the dates records are built around. */
  startMs: number;
}

/** One version of a record, as Terra would send it. */
export interface PlannedCopy {
  version: number;
  /** `x-terra-ordering-timestamp`, strictly increasing across one record's versions. */
  orderingTs: number;
  /** The exact bytes to send; a repeat sends these again. */
  body: string;
  reference: string;
  traceId: string;
}

export interface PlannedRecord {
  userId: string;
  /** The consumer's sort key, `<type>#<identifier>`. */
  recordId: string;
  type: LoadType;
  /** Oldest first. */
  copies: PlannedCopy[];
}

export interface PlannedDelivery {
  record: number;
  copy: number;
  repeat: boolean;
}

export interface LoadPlan {
  runId: string;
  userIds: string[];
  records: PlannedRecord[];
  deliveries: PlannedDelivery[];
}

/** The four record types Terra sends most; each keys its records differently. */
export type LoadType = DataType;

const loadTypes: readonly LoadType[] = ['activity', 'activity', 'daily', 'sleep', 'body'];
const providers = ['GARMIN', 'WITHINGS', 'XOSS', 'DEXCOM', 'POLAR'];
const MINUTE = 60_000;

export function copyOf(plan: Pick<LoadPlan, 'records'>, delivery: PlannedDelivery): PlannedCopy {
  return plan.records[delivery.record]!.copies[delivery.copy]!;
}

/** Seeded Fisher–Yates, in place. */
export function shuffle<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = rng.int(0, i);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function heartRateSamples(rng: Rng, startMs: number, count: number, stepMinutes: number, base: number) {
  return Array.from({ length: count }, (_, i) => ({
    timestamp: terraTime(startMs + i * stepMinutes * MINUTE),
    bpm: Math.round(base + rng.noise(6)),
    timer_duration_seconds: i * stepMinutes * 60,
  }));
}

/** Later versions hold more samples and larger totals, as Terra's re-sends of a growing day do. */
interface RecordSpec {
  identifier: string;
  build: (version: number, rng: Rng) => Record<string, unknown>;
}

function recordSpec(type: LoadType, rng: Rng, ids: { runId: string; userId: string; ordinal: number; startMs: number }): RecordSpec {
  const date = localDate(ids.startMs, 0, -1 - ids.ordinal);
  const dayStart = Date.parse(`${date}T00:00:00.000Z`);
  const samples = rng.int(8, 30);
  switch (type) {
    case 'activity': {
      const summaryId = stableNumericId(10, 'loadtest-activity', ids.runId, ids.userId, ids.ordinal);
      const start = dayStart + rng.int(6 * 60, 19 * 60) * MINUTE;
      return {
        identifier: summaryId,
        build: (version, r) => ({
          metadata: {
            summary_id: summaryId,
            start_time: terraTime(start),
            end_time: terraTime(start + 45 * MINUTE),
            type: 8,
            upload_type: 1,
            name: 'Run',
          },
          heart_rate_data: {
            summary: { avg_hr_bpm: 140 + version },
            detailed: { hr_samples: heartRateSamples(r, start, samples + 2 * version, 1, 140) },
          },
          calories_data: { total_burned_calories: 400 + 10 * version },
          distance_data: { summary: { distance_meters: 7000 + 100 * version } },
        }),
      };
    }
    case 'sleep': {
      const summaryId = stableNumericId(10, 'loadtest-sleep', ids.runId, ids.userId, ids.ordinal);
      const start = dayStart - 90 * MINUTE;
      return {
        identifier: summaryId,
        build: (version, r) => ({
          metadata: {
            summary_id: summaryId,
            start_time: terraTime(start),
            end_time: terraTime(start + 8 * 60 * MINUTE),
            upload_type: 2,
            is_nap: false,
          },
          sleep_durations_data: {
            hypnogram_samples: Array.from({ length: 6 + version }, (_, i) => ({
              timestamp: terraTime(start + i * 40 * MINUTE),
              level: [4, 5, 6][i % 3],
            })),
            sleep_efficiency: 85 + version,
          },
          heart_rate_data: { detailed: { hr_samples: heartRateSamples(r, start, samples, 15, 55) } },
        }),
      };
    }
    case 'daily':
    case 'body':
      // Keyed on the local date: each of a user's daily (or body) records is a different day.
      return {
        identifier: date,
        build: (version, r) => ({
          metadata: {
            start_time: terraTime(dayStart),
            end_time: terraTime(dayStart + 1440 * MINUTE),
            upload_type: 1,
            timestamp_localization: 0,
          },
          ...(type === 'daily'
            ? {
                distance_data: { steps: 2000 * version + r.int(0, 999) },
                heart_rate_data: { detailed: { hr_samples: heartRateSamples(r, dayStart, samples, 30, 70) } },
              }
            : {
                glucose_data: {
                  blood_glucose_samples: Array.from({ length: samples + 4 * version }, (_, i) => ({
                    timestamp: terraTime(dayStart + i * 5 * MINUTE),
                    blood_glucose_mg_per_dL: Math.round(100 + r.noise(10)),
                  })),
                },
              }),
        }),
      };
  }
}

export function planLoad(options: PlanOptions): LoadPlan {
  const { deliveries: total, repeatRatio, seed, runId, startMs } = options;
  if (!Number.isInteger(total) || total < 1) throw new Error(`deliveries must be a positive integer, got ${total}`);
  if (!(repeatRatio >= 0 && repeatRatio < 1)) throw new Error(`repeat ratio must be in [0, 1), got ${repeatRatio}`);
  const repeats = Math.round(total * repeatRatio);
  const unique = total - repeats;
  if (unique < 1) throw new Error('the repeat ratio leaves nothing to repeat');

  const rng = seededRng(`${seed}/plan`);
  const users = Array.from({ length: Math.max(1, Math.round(total / 20)) }, (_, i) =>
    terraUser({
      userId: stableUuid('loadtest', runId, i),
      provider: providers[i % providers.length]!,
      referenceId: `loadtest-${runId}-${i}`,
    }),
  );
  const ordinals = new Map<string, number>();
  const records: PlannedRecord[] = [];
  const deliveries: PlannedDelivery[] = [];
  let orderingTs = startMs;
  while (deliveries.length < unique) {
    const versions = Math.min(rng.int(1, 3), unique - deliveries.length);
    const type = loadTypes[rng.int(0, loadTypes.length - 1)]!;
    const user = users[rng.int(0, users.length - 1)]!;
    const ordinalKey = `${user.user_id}/${type}`;
    const ordinal = ordinals.get(ordinalKey) ?? 0;
    ordinals.set(ordinalKey, ordinal + 1);
    const spec = recordSpec(type, rng, { runId, userId: user.user_id, ordinal, startMs });
    const index = records.length;
    const copies = Array.from({ length: versions }, (_, i): PlannedCopy => {
      const version = i + 1;
      // Distinguishable content: the version is inside the record, and the samples differ.
      const record = { ...spec.build(version, seededRng(`${seed}/${index}/${version}`)), loadtest: { run_id: runId, version } };
      // The global counter makes one record's versions strictly increasing, and all distinct.
      orderingTs += 1 + rng.int(0, 2);
      return {
        version,
        orderingTs,
        body: JSON.stringify({ type, user, data: [record], version: TERRA_API_VERSION }),
        reference: stableUuid('loadtest-reference', runId, index, version),
        traceId: stableUuid('loadtest-trace', runId, index, version),
      };
    });
    records.push({ userId: user.user_id, recordId: `${type}#${spec.identifier}`, type, copies });
    for (const copy of copies.keys()) deliveries.push({ record: index, copy, repeat: false });
  }
  for (let i = 0; i < repeats; i += 1) deliveries.push({ ...deliveries[rng.int(0, unique - 1)]!, repeat: true });
  return { runId, userIds: users.map((user) => user.user_id), records, deliveries: shuffle(deliveries, rng) };
}
