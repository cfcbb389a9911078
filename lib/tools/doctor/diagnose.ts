import { erasure, terraApi } from '../../../lambdas/shared/definitions';
import { readUserItem } from '../../../lambdas/shared/table-items';
import { accountStep, syncStep } from './advice';
import type { Diagnosis, Finding, Gap, UserFacts } from './facts';

/**
 * Facts about one user → findings and the next step to try, in the order of Terra's guide to
 * missing data: is the connection alive; did we receive and fail to keep something (dead letters,
 * refused or invalid bodies); is a backfill still arriving; which days are missing. Pure.
 */

/**
 * A gap: a type whose newest record is more than this many days before today. Terra sends a day's
 * summary through the day and the night's sleep the next morning, so a day or two behind is normal.
 */
export const staleAfterDays = 3;

/** A backfill with no new chunk for this long is taken for stalled. */
export const stalledBackfillHours = 24;

/** Types Terra's REST API can send again (docs/terra.md §7): the only gaps a backfill can fill. */
const backfillTypes = terraApi.types.filter((type) => type !== 'athlete') as readonly string[];

const dayMs = 24 * 60 * 60 * 1000;
const dateOf = (value: string) => value.slice(0, 10);
const daysBetween = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / dayMs);
const text = (value: unknown) => (typeof value === 'string' && value.length > 0 ? value : undefined);

export interface DiagnoseOptions {
  now: Date;
  /** Given to the commands printed, so they reach the same stack. */
  stack?: string;
  region?: string;
}

/** A word the shell passes as is, quoted otherwise. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9._:@%+=,/-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

export function commands(userId: string, options: Pick<DiagnoseOptions, 'stack' | 'region'>) {
  const stack = options.stack
    ? ` --stack ${shellWord(options.stack)}${options.region ? ` --region ${shellWord(options.region)}` : ''}`
    : '';
  const user = shellWord(userId);
  return {
    /** `--to` is inclusive. */
    backfill: (gap: Pick<Gap, 'type' | 'from' | 'to'>) =>
      `npm run backfill -- --user ${user} --type ${gap.type} --from ${gap.from} --to ${gap.to}${stack}`,
    athlete: `npm run backfill -- --user ${user} --type athlete${stack}`,
    redrive: `npm run redrive${stack ? ` --${stack}` : ''}`,
    reprocess: (outcome: string, type?: string) =>
      `npm run reprocess -- --outcome ${outcome}${type ? ` --type ${shellWord(type)}` : ''}${stack} --dry-run`,
    /** Replay's `--to` is exclusive. */
    replay: (from: string, toExclusive: string) => `npm run replay -- --from ${from} --to ${toExclusive} --user ${user}${stack}`,
    doctor: (id: string) => `npm run doctor -- ${shellWord(id)}${stack}`,
  };
}

/** The newest delivery: from the archive's index when there is one, else the newest time the tables hold. */
export function lastDelivery(facts: UserFacts): Diagnosis['lastDelivery'] {
  const archived = facts.archive.deliveries[0];
  if (archived) return { at: archived.receivedAt, type: archived.type, source: 'archive' };
  const user = facts.user && readUserItem(facts.user);
  const candidates: { at?: string; type?: string }[] = [
    { at: text(user?.updatedAt), type: text(user?.lastEventType) },
    ...facts.records.map((summary) => ({ at: summary.newest.receivedAt, type: summary.type })),
    ...facts.kept.events.map((event) => ({ at: event.receivedAt, type: event.type })),
  ];
  const newest = candidates.filter((c) => c.at).sort((a, b) => b.at!.localeCompare(a.at!))[0];
  return newest ? { at: newest.at!, type: newest.type ?? 'unknown', source: 'tables' } : undefined;
}

function connection(
  facts: UserFacts,
  cmd: ReturnType<typeof commands>,
  provider: string | undefined,
): { findings: Finding[]; steps: string[] } {
  const name = provider ?? 'the provider';
  if (!facts.user) {
    return {
      findings: [
        {
          severity: 'warning',
          text: 'No connection event (auth) is stored for this user: it connected before this stack received webhooks, or its auth went to another destination. Its status is unknown.',
        },
      ],
      steps: [],
    };
  }
  const user = readUserItem(facts.user);
  const since = text(user.updatedAt) ?? 'an unknown time';
  const referenceId = text(user.referenceId);
  const reconnect = `Ask the user to connect ${name} again through your app (Terra's widget). The new connection gets a new user_id${referenceId ? ` with the same reference_id (${cmd.doctor(referenceId)} then finds both)` : ''}; request the days missed in between with npm run backfill for the new user_id.`;
  const erasing = facts.deadLetters.some((queue) => queue.holds === 'erase requests');
  const erased: Finding[] = erasing
    ? [
        {
          severity: 'warning',
          text: `This stack erases users on deauth (eraseOnDeauth): this user's data is erased ${erasure.delaySeconds / 60} minutes after the ${user.lastEventType ?? 'deauth'}.`,
        },
      ]
    : [];
  switch (user.status) {
    case 'connected':
      return {
        findings: [
          { severity: 'ok', text: `Connected to ${name} (last connection event ${text(user.lastEventType) ?? '?'} at ${since}).` },
        ],
        steps: [],
      };
    case 'deauthenticated':
      return {
        findings: [
          {
            severity: 'problem',
            text: `Deauthenticated: the user disconnected ${name} (deauth at ${since}). Terra sends nothing more for this user_id.`,
          },
          ...erased,
        ],
        steps: [reconnect],
      };
    case 'access_revoked':
      return {
        findings: [
          { severity: 'problem', text: `Access revoked at ${name} (at ${since}): Terra can no longer read this account.` },
          ...erased,
        ],
        steps: [reconnect],
      };
    case 'connection_error':
      return {
        findings: [
          {
            severity: 'problem',
            text: `Connection error (at ${since}): ${name} refused Terra's access (401/403/412), e.g. a changed password or expired consent.`,
          },
        ],
        steps: [reconnect],
      };
    case 'auth_failed':
      return {
        findings: [{ severity: 'problem', text: `The connection never completed: auth with status error (at ${since}).` }],
        steps: [reconnect],
      };
    case 'no_datasource':
      return {
        findings: [{ severity: 'problem', text: `Google reports no data source for this user (google_no_datasource at ${since}).` }],
        steps: [`${syncStep(provider)} Google Fit must be recording for the account the user connected.`],
      };
    case 'replaced': {
      const next = text(user.replacedBy);
      return {
        findings: [{ severity: 'problem', text: `Replaced (user_reauth at ${since}): data now arrives under user ${next ?? '?'}.` }],
        steps: next ? [`Look at the new connection: ${cmd.doctor(next)}`] : [],
      };
    }
    default:
      return { findings: [{ severity: 'warning', text: `Connection status "${String(user.status)}" (at ${since}).` }], steps: [] };
  }
}

function deadLetters(facts: UserFacts, cmd: ReturnType<typeof commands>): { findings: Finding[]; steps: string[] } {
  const findings: Finding[] = [];
  const steps: string[] = [];
  const erasures = facts.deadLetters.filter((queue) => queue.holds === 'erase requests').flatMap((queue) => queue.messages);
  if (erasures.length > 0) {
    findings.push({
      severity: 'warning',
      text: `An erase of this user (${erasures[0].type ?? 'erase request'}) failed and waits in the erase-on-deauth dead-letter queue: the user's data is still stored.`,
    });
    steps.push(`Find why the erase failed (the eraser's logs), fix it, then run it again: ${cmd.redrive}`);
  }
  const hits = facts.deadLetters
    .filter((queue) => queue.holds === 'deliveries')
    .flatMap((queue) => queue.messages.map((message) => ({ queue: queue.queue, ...message })));
  if (hits.length > 0) {
    const queues = [...new Set(hits.map((hit) => hit.queue))].join(', ');
    const times = hits
      .map((hit) => hit.sentAt)
      .filter(Boolean)
      .sort();
    findings.push({
      severity: 'problem',
      text: `${hits.length} deliver${hits.length === 1 ? 'y' : 'ies'} of this user in the dead-letter queue (${queues}): received, failed on every try, not stored${times.length ? ` (${times[0]}${times.length > 1 ? ` to ${times.at(-1)}` : ''})` : ''}.`,
    });
  }
  for (const queue of facts.deadLetters) {
    if (queue.error) findings.push({ severity: 'warning', text: `Dead-letter queue ${queue.queue} could not be read: ${queue.error}` });
    if (queue.capped)
      findings.push({
        severity: 'warning',
        text: `Dead-letter queue ${queue.queue}: only the first ${queue.examined} of ~${queue.approximateTotal ?? '?'} messages were examined (--dead-letters N to look further).`,
      });
    if (queue.unreadClaimChecks > 0)
      findings.push({
        severity: 'warning',
        text: `Dead-letter queue ${queue.queue}: ${queue.unreadClaimChecks} claim-checked bodies were not read, so their user is unknown.`,
      });
  }
  if (hits.length > 0)
    steps.unshift(
      `Find why they failed (the consumer's logs at those times: a throttled table, an S3 error), fix it, then move them back: ${cmd.redrive}`,
    );
  return { findings, steps };
}

function keptEvents(facts: UserFacts, cmd: ReturnType<typeof commands>, now: Date): { findings: Finding[]; steps: string[] } {
  const findings: Finding[] = [];
  const steps: string[] = [];
  for (const outcome of ['invalid', 'unknown_type', 'rejected_by_storage'] as const) {
    const count = facts.kept.byOutcome[outcome] ?? 0;
    if (count === 0) continue;
    const shown = facts.kept.events.filter((event) => event.outcome === outcome);
    const newest = shown[0];
    const types = [...new Set(shown.map((event) => event.type))];
    findings.push({
      severity: 'problem',
      text: `${count} deliver${count === 1 ? 'y' : 'ies'} of this user kept as ${outcome}, not stored as records${newest ? ` (newest: ${newest.type} at ${newest.receivedAt ?? '?'}: ${newest.reason ?? 'no reason'})` : ''}.`,
    });
    if (outcome === 'rejected_by_storage') {
      const day = newest?.receivedAt ? dateOf(newest.receivedAt) : dateOf(now.toISOString());
      const next = new Date(Date.parse(day) + dayMs).toISOString().slice(0, 10);
      steps.push(
        `DynamoDB refused what the reason names: fix that, then run the archived deliveries again: ${cmd.replay(day, next)} (the body is also kept in terra-events).`,
      );
    } else {
      steps.push(
        `Once this version accepts them (a fix or an upgrade), turn them into records: ${cmd.reprocess(outcome, types.length === 1 ? types[0] : undefined)}, then without --dry-run.`,
      );
    }
  }
  const rateLimited = facts.kept.events.find((event) => event.type === 'rate_limit_hit');
  if (rateLimited?.receivedAt && now.getTime() - Date.parse(rateLimited.receivedAt) < staleAfterDays * dayMs) {
    findings.push({
      severity: 'warning',
      text: `Terra hit the provider's rate limit for this user (rate_limit_hit at ${rateLimited.receivedAt}): the data comes when Terra retries.`,
    });
  }
  return { findings, steps };
}

function backfills(facts: UserFacts, now: Date): { findings: Finding[]; steps: string[] } {
  const findings: Finding[] = [];
  const steps: string[] = [];
  for (const backfill of facts.backfills) {
    if (!backfill.announced) continue;
    if (backfill.expected !== undefined && backfill.received >= backfill.expected) continue;
    const last = backfill.updatedAt ?? backfill.firstSeen;
    const stalled = last !== undefined && now.getTime() - Date.parse(last) > stalledBackfillHours * 60 * 60 * 1000;
    const progress =
      backfill.expected === undefined
        ? `${backfill.received} data events so far, count not announced yet (no large_request_sending)`
        : `${backfill.received} of ${backfill.expected} data events`;
    findings.push({
      severity: stalled ? 'problem' : 'warning',
      text: `Backfill ${backfill.reference} in flight: ${progress}, last news ${last ?? '?'}${stalled ? ` (nothing for over ${stalledBackfillHours} h: stalled)` : ''}.`,
    });
    steps.push(
      stalled
        ? `Backfill ${backfill.reference} has stalled: look for its chunks in the dead-letter queues and kept events above, then request its days again with npm run backfill.`
        : `Wait for backfill ${backfill.reference} to finish before asking for the same days again (npm run inspect -- --request ${shellWord(backfill.reference)} shows its progress).`,
    );
  }
  return { findings, steps };
}

/** Which types stopped while the connection kept delivering others, and whether everything stopped. */
export function findGaps(facts: UserFacts, now: Date): { gaps: Gap[]; freshest?: { type: string; date: string }; silentSince?: string } {
  const today = dateOf(now.toISOString());
  const dated = facts.records
    .filter((summary) => summary.newest.startTime)
    .map((summary) => ({ type: summary.type, date: dateOf(summary.newest.startTime) }));
  if (dated.length === 0) return { gaps: [] };
  // A planned workout may be dated in the future: only what has happened says the connection is alive.
  const past = dated.filter((entry) => entry.date <= today);
  const freshest = past.sort((a, b) => b.date.localeCompare(a.date))[0];
  const behind = (date: string) => daysBetween(date, today);
  const stale = dated
    .filter((entry) => backfillTypes.includes(entry.type) && entry.date <= today && behind(entry.date) > staleAfterDays)
    .map((entry): Gap => ({ type: entry.type, from: entry.date, to: today, newest: entry.date, daysBehind: behind(entry.date) }));
  if (!freshest || behind(freshest.date) > staleAfterDays) return { gaps: stale, freshest, silentSince: freshest?.date };
  return { gaps: stale, freshest };
}

export function diagnose(facts: UserFacts, options: DiagnoseOptions): Diagnosis {
  const cmd = commands(facts.userId, options);
  const user = facts.user && readUserItem(facts.user);
  const provider = text(user?.provider) ?? facts.records.find((summary) => summary.newest.provider)?.newest.provider;
  const today = dateOf(options.now.toISOString());
  const status = user?.status;
  const connected = status === undefined || status === 'connected';
  const parts = [
    connection(facts, cmd, provider),
    deadLetters(facts, cmd),
    keptEvents(facts, cmd, options.now),
    backfills(facts, options.now),
  ];
  const findings = parts.flatMap((part) => part.findings);
  const nextSteps = parts.flatMap((part) => part.steps);
  const account = accountStep(provider, facts.athlete?.providerUserId, cmd.athlete);
  let gaps: Gap[] = [];

  if (facts.records.length === 0) {
    findings.push({ severity: connected ? 'problem' : 'warning', text: 'No records stored for this user.' });
    if (connected) {
      const since = dateOf(text(user?.updatedAt) ?? new Date(options.now.getTime() - 7 * dayMs).toISOString());
      nextSteps.push(
        syncStep(provider),
        account,
        `If the data is on ${provider ?? 'the provider'}'s side, ask Terra for everything since the connection: ${cmd.backfill({ type: 'all', from: since, to: today })}`,
      );
    }
  } else if (connected) {
    const found = findGaps(facts, options.now);
    gaps = found.gaps;
    if (found.silentSince) {
      findings.push({
        severity: 'problem',
        text: `Nothing newer than ${found.silentSince} (${daysBetween(found.silentSince, today)} days ago) of any type: the user's device or app has probably not synced to ${provider ?? 'the provider'}'s cloud, so Terra has had nothing to send.`,
      });
      nextSteps.push(syncStep(provider), account);
      if (gaps.length > 0)
        nextSteps.push(
          `Once the data shows on ${provider ?? 'the provider'}'s side, if it does not arrive within the hour, ask Terra for it:\n${gaps.map((gap) => `     ${cmd.backfill(gap)}`).join('\n')}`,
        );
    } else {
      for (const gap of gaps) {
        findings.push({
          severity: 'warning',
          text: `Gap: no ${gap.type} since ${gap.newest} (${gap.daysBehind} days) while ${found.freshest!.type} arrived up to ${found.freshest!.date}.`,
        });
        nextSteps.push(
          `If the user has ${gap.type} data after ${gap.newest} in the ${provider ?? 'provider'} app, ask Terra for it again: ${cmd.backfill(gap)}`,
        );
      }
      if (gaps.length === 0)
        findings.push({ severity: 'ok', text: `Data is current: newest ${found.freshest!.type} from ${found.freshest!.date}.` });
    }
  } else {
    const { freshest } = findGaps(facts, options.now);
    if (freshest) findings.push({ severity: 'ok', text: `Records are stored up to ${freshest.date} (${freshest.type}).` });
  }
  if (facts.pingFailures && facts.pingFailures.count > 0) {
    findings.push({
      severity: 'warning',
      text: `${facts.pingFailures.count} Ping-mode download${facts.pingFailures.count === 1 ? '' : 's'} failed stack-wide since ${facts.pingFailures.since} (ping_fetch_failed): a Ping names no user, so one may be this user's (npm run inspect -- --events).`,
    });
  }
  if (nextSteps.length === 0) {
    nextSteps.push(
      `Nothing is missing on this stack's side. If the user still misses something, it has not reached Terra: ${syncStep(provider)}`,
      account,
    );
  }
  return { lastDelivery: lastDelivery(facts), findings, gaps, nextSteps };
}
