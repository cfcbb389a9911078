import { dataAttributes as data, eventAttributes as events } from '../../../lambdas/shared/attributes';
import { connectionFields } from '../inspect';
import type { Diagnosis, Severity, UserFacts } from './facts';
import { connectionBodiesRead } from './history';

/** `npm run doctor`'s human-readable answer: one section per question of Terra's guide, then the next step. */

function table(rows: string[][], indent = '  '): string[] {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => row[column].length)));
  return rows.map((row) => `${indent}${row.map((cell, column) => cell.padEnd(widths[column])).join('  ')}`.trimEnd());
}

const text = (value: unknown) => (value === undefined || value === null || value === '' ? '-' : String(value));
const marks: Record<Severity, string> = { problem: '[problem]', warning: '[warning]', ok: '[ok]     ' };

function connectionSection(facts: UserFacts): string[] {
  const out = ['Connection (terra-users: its latest state)'];
  const user = facts.user;
  if (!user) {
    out.push('  no connection event stored for this user');
  } else {
    out.push(...table(connectionFields.filter((field) => user[field] !== undefined).map((field) => [field, text(user[field])])));
  }
  if (facts.athlete)
    out.push(
      `  provider user id: ${facts.athlete.providerUserId ?? '- (the athlete profile has none)'} (athlete profile received ${text(facts.athlete.receivedAt)})`,
    );
  else out.push('  provider user id: - (no athlete profile stored)');
  out.push('', `Connection history (newest first; the raw archive keeps ${facts.archive.since} onwards)`);
  if (!facts.archive.available) out.push(`  ${facts.archive.note}`);
  if (facts.connectionEvents.length === 0) {
    out.push('  none found: only the latest state above is known');
  } else {
    out.push(
      ...table([
        [events.receivedAt, 'event', 'status', 'message', 'from'],
        ...facts.connectionEvents.map((event) => [event.receivedAt, event.type, text(event.status), text(event.message), event.source]),
      ]),
    );
    if (facts.connectionEvents.filter((event) => event.source === 'archive').length > connectionBodiesRead)
      out.push(`  (what they said is read for the newest ${connectionBodiesRead})`);
  }
  return out;
}

function deliverySection(facts: UserFacts, diagnosis: Diagnosis): string[] {
  const out = ['Last delivery'];
  const last = diagnosis.lastDelivery;
  out.push(
    last
      ? `  ${last.at}  ${last.type}  (${last.source === 'archive' ? 'the raw archive' : 'newest time in the tables; the archive index has none'})`
      : '  none received',
  );
  if (facts.archive.deliveries.length > 0) {
    const perType = new Map<string, { count: number; newest: string }>();
    for (const delivery of facts.archive.deliveries) {
      const entry = perType.get(delivery.type) ?? { count: 0, newest: delivery.receivedAt };
      entry.count++;
      perType.set(delivery.type, entry);
    }
    out.push(`  deliveries since ${facts.archive.since}${facts.archive.truncated ? ' (listing capped: the oldest are left out)' : ''}:`);
    out.push(
      ...table([['type', 'count', 'newest'], ...[...perType].map(([type, entry]) => [type, String(entry.count), entry.newest])], '    '),
    );
  }
  out.push('', 'Newest record per type (terra-data)');
  if (facts.records.length === 0) {
    out.push('  no records');
  } else {
    out.push(
      ...table([
        ['type', 'records', `newest ${data.startTime}`, data.recordId, data.receivedAt],
        ...facts.records.map((summary) => [
          summary.type,
          String(summary.count),
          summary.newest.startTime,
          summary.newest.recordId,
          text(summary.newest.receivedAt),
        ]),
      ]),
    );
  }
  return out;
}

function keptSection(facts: UserFacts): string[] {
  const counts = Object.entries(facts.kept.byOutcome)
    .map(([outcome, count]) => `${outcome} ${count}`)
    .join(', ');
  const out = [`Kept events of this user (terra-events): ${facts.kept.total}${counts ? ` (${counts})` : ''}`];
  if (facts.kept.events.length > 0) {
    if (facts.kept.total > facts.kept.events.length) out.push(`  newest ${facts.kept.events.length}:`);
    out.push(
      ...table([
        [events.receivedAt, events.outcome, events.type, events.reason, events.eventId],
        ...facts.kept.events.map((event) => [
          text(event.receivedAt),
          event.outcome,
          event.type,
          text(event.reason),
          event.eventId.slice(0, 16),
        ]),
      ]),
    );
  }
  return out;
}

function deadLetterSection(facts: UserFacts): string[] {
  const out = ['Dead-letter queues (peeked: every message stays where it was)'];
  for (const queue of facts.deadLetters) {
    if (queue.error) {
      out.push(`  ${queue.queue}: could not be read: ${queue.error}`);
      continue;
    }
    const found = queue.messages.length;
    out.push(
      `  ${queue.queue}: ${found} of this user's among ${queue.examined} examined (~${queue.approximateTotal ?? '?'} in the queue)${queue.capped ? ', capped' : ''}`,
    );
    for (const message of queue.messages)
      out.push(`    ${text(message.sentAt)}  ${text(message.type)}  ${message.messageId}  (${message.via})`);
    if (queue.unreadClaimChecks > 0) out.push(`    ${queue.unreadClaimChecks} claim-checked bodies not read`);
  }
  return out;
}

function backfillSection(facts: UserFacts): string[] {
  const out = ['Backfills (terra-events large_request#<terra-reference>)'];
  if (facts.backfills.length === 0) return [...out, '  none'];
  const state = (backfill: UserFacts['backfills'][number]) => {
    if (!backfill.announced) return 'no large_request announcement (a request up to a month, or chunks ahead of it): count unknown';
    if (backfill.expected === undefined) return 'processing: count not announced yet';
    return backfill.received >= backfill.expected ? 'complete' : `in flight: waiting for ${backfill.expected - backfill.received} more`;
  };
  return [
    ...out,
    ...table([
      ['reference', 'received', 'expected', 'state', 'last update'],
      ...facts.backfills.map((backfill) => [
        backfill.reference,
        String(backfill.received),
        text(backfill.expected),
        state(backfill),
        text(backfill.updatedAt ?? backfill.firstSeen),
      ]),
    ]),
  ];
}

export function formatReport(facts: UserFacts, diagnosis: Diagnosis, heading: string): string {
  const out = [
    heading,
    '',
    ...connectionSection(facts),
    '',
    ...deliverySection(facts, diagnosis),
    '',
    ...keptSection(facts),
    '',
    ...deadLetterSection(facts),
    '',
    ...backfillSection(facts),
  ];
  out.push('', 'Findings', ...diagnosis.findings.map((finding) => `  ${marks[finding.severity]} ${finding.text}`));
  out.push(
    '',
    diagnosis.nextSteps.length === 1 ? 'Next step' : 'Next steps, in order',
    ...diagnosis.nextSteps.map((step, index) => `  ${index + 1}. ${step}`),
  );
  return out.join('\n');
}
