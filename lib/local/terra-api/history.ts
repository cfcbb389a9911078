import type { TerraUser } from '../../../lambdas/consumer/terra-schemas';
import {
  type AthleteProfile,
  DAY_MILLISECONDS,
  localMidnight,
  round,
  seededRng,
  stableHash,
  terraTime,
  terraUser,
  withingsActivityRecord,
  withingsBodyRecord,
  withingsDailyRecord,
  withingsSleepRecord,
} from '../../tools/fixtures';

/**
 * What the stand-in "knows" about a user: everything, derived from the user id alone, so any id
 * has a connection and a history, and the same id and day always give the same records (the
 * simulator's fixtures, seeded by user id and date). Every user is a Withings connection in
 * Paris (UTC+1), the simulator's Withings profile.
 */

export type HistoryType = 'activity' | 'body' | 'daily' | 'sleep' | 'menstruation' | 'nutrition';

export const historySeed = 'terra-api-stand-in';
const provider = 'WITHINGS';
const utcOffsetMinutes = 60;

export function knownUser(userId: string): TerraUser {
  return terraUser({
    userId,
    provider,
    referenceId: `stand-in-${stableHash(historySeed, 'reference', userId).slice(0, 8)}`,
    scopes: 'user.info,user.metrics,user.activity,user.sleepevents',
    // A connection made before any history it could be asked for: fixed, so answers are stable.
    createdAt: '2020-01-01T00:00:00.000000+00:00',
  });
}

export function athleteProfile(user: TerraUser): AthleteProfile {
  const rng = seededRng(`${historySeed}/athlete/${user.user_id}`);
  const female = rng.next() < 0.5;
  const firstNames = female ? ['Camille', 'Léa', 'Manon', 'Chloé'] : ['Lucas', 'Hugo', 'Louis', 'Jules'];
  const birthYear = rng.int(1965, 2002);
  return {
    first_name: firstNames[rng.int(0, firstNames.length - 1)],
    last_name: ['Martin', 'Bernard', 'Dubois', 'Durand'][rng.int(0, 3)],
    sex: female ? 'female' : 'male',
    gender: female ? 'female' : 'male',
    date_of_birth: `${birthYear}-0${rng.int(1, 9)}-1${rng.int(0, 9)}`,
    city: 'Paris',
    country: 'France',
  };
}

/** `YYYY-MM-DD` for each UTC day of [start, end). */
export function daysOf(startMs: number, endMs: number): string[] {
  const days: string[] = [];
  for (let day = startMs; day < endMs; day += DAY_MILLISECONDS) days.push(new Date(day).toISOString().slice(0, 10));
  return days;
}

function menstruationRecord(user: TerraUser, date: string): Record<string, unknown> {
  const dayStart = localMidnight(date, utcOffsetMinutes);
  const cycleLength = 28;
  // A regular cycle anchored on a per-user day, so consecutive days count up through it.
  const anchor = parseInt(stableHash(historySeed, 'cycle', user.user_id).slice(0, 6), 16) % cycleLength;
  const dayInCycle = ((Math.floor(dayStart / DAY_MILLISECONDS) + anchor) % cycleLength) + 1;
  // MenstruationInterval: 1 menstruation, 2 follicular, 3 fertile, 4 ovulation, 5 luteal.
  const phase = dayInCycle <= 5 ? 1 : dayInCycle <= 10 ? 2 : dayInCycle <= 13 ? 3 : dayInCycle === 14 ? 4 : 5;
  return {
    metadata: {
      start_time: terraTime(dayStart, utcOffsetMinutes),
      end_time: terraTime(dayStart + DAY_MILLISECONDS, utcOffsetMinutes),
      timestamp_localization: 0,
    },
    menstruation_data: {
      day_in_cycle: dayInCycle,
      cycle_length_days: cycleLength,
      period_length_days: 5,
      current_phase: phase,
      is_predicted_cycle: false,
      period_start_date: new Date(dayStart + utcOffsetMinutes * 60_000 - (dayInCycle - 1) * DAY_MILLISECONDS).toISOString().slice(0, 10),
    },
  };
}

function nutritionRecord(user: TerraUser, date: string): Record<string, unknown> {
  const dayStart = localMidnight(date, utcOffsetMinutes);
  const rng = seededRng(`${historySeed}/nutrition/${user.user_id}/${date}`);
  const protein = round(rng.between(70, 130), 1);
  const carbohydrates = round(rng.between(180, 320), 1);
  const fat = round(rng.between(50, 95), 1);
  return {
    metadata: {
      start_time: terraTime(dayStart, utcOffsetMinutes),
      end_time: terraTime(dayStart + DAY_MILLISECONDS, utcOffsetMinutes),
      timestamp_localization: 0,
    },
    summary: {
      macros: {
        calories: Math.round(protein * 4 + carbohydrates * 4 + fat * 9),
        protein_g: protein,
        carbohydrates_g: carbohydrates,
        fat_g: fat,
      },
      water_ml: rng.int(1200, 2600),
      drink_ml: rng.int(0, 600),
    },
    meals: [],
    drink_samples: [],
  };
}

function recordsOfDay(type: HistoryType, user: TerraUser, date: string): unknown[] {
  const day = { user, date, seed: historySeed, utcOffsetMinutes };
  switch (type) {
    case 'activity': {
      // One evening run a day, its start moving a little from day to day.
      const rng = seededRng(`${historySeed}/activity-start/${user.user_id}/${date}`);
      const start = localMidnight(date, utcOffsetMinutes) + (17 * 60 + rng.int(0, 150)) * 60_000;
      return [withingsActivityRecord({ user, start, seed: historySeed, utcOffsetMinutes, durationSeconds: rng.int(1800, 3600) })];
    }
    case 'body':
      return [withingsBodyRecord(day)];
    case 'daily':
      return [withingsDailyRecord(day)];
    case 'sleep':
      return [withingsSleepRecord({ user, nightOf: date, seed: historySeed, utcOffsetMinutes })];
    case 'menstruation':
      return [menstruationRecord(user, date)];
    case 'nutrition':
      return [nutritionRecord(user, date)];
  }
}

/** Terra leaves out the detailed sample arrays unless `with_samples=true`. */
function withoutSamples(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSamples);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, field]) => [key, key.endsWith('_samples') && Array.isArray(field) ? [] : withoutSamples(field)]),
  );
}

export interface HistoryQuery {
  type: HistoryType;
  user: TerraUser;
  /** UTC days, `YYYY-MM-DD`. */
  days: readonly string[];
  withSamples: boolean;
  /** Days from this one on have no data yet (the provider has not synced the future). */
  today: string;
}

/** The records of each requested day, day by day: one list per day, in order. */
export function historyByDay(query: HistoryQuery): unknown[][] {
  return query.days.map((date) => {
    if (date >= query.today) return [];
    const records = recordsOfDay(query.type, query.user, date);
    return query.withSamples ? records : (withoutSamples(records) as unknown[]);
  });
}
