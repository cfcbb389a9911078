/**
 * What `npm run doctor` reads about one user (find.ts, history.ts, dead-letters.ts) and what it
 * concludes from it (diagnose.ts). Plain data, so the diagnosis is a pure function of it and
 * `--json` prints it as is.
 */

/** One type's records in terra-data (from the `user-type-start-time` index). */
export interface RecordSummary {
  type: string;
  count: number;
  /** The record with the latest `start_time`. */
  newest: { recordId: string; startTime: string; endTime?: string; receivedAt?: string; provider?: string };
}

/** A delivery of this user in the raw archive, from its index marker (`archive-index/<user_id>/`). */
export interface ArchivedDelivery {
  type: string;
  receivedAt: string;
  /** The archived copy, `archive/…` in the payload bucket. */
  key: string;
}

/** A connection event (auth, deauth, …) with what its body said, when it could be read. */
export interface ConnectionEvent {
  type: string;
  receivedAt: string;
  /** Where it was found: the raw archive (30 days) or terra-events. */
  source: 'archive' | 'terra-events';
  status?: string;
  message?: string;
}

export interface ArchiveFacts {
  /** False when the archive index could not be listed (no access, or an older stack without markers). */
  available: boolean;
  note?: string;
  /** Since this date (the archive's retention): older deliveries are no longer there. */
  since: string;
  /** Newest first. */
  deliveries: ArchivedDelivery[];
  /** The listing stopped at its cap; older deliveries were not read. */
  truncated: boolean;
}

/** An item of terra-events that names this user (not a backfill tracker). */
export interface KeptEventFact {
  eventId: string;
  type: string;
  outcome: string;
  reason?: string;
  receivedAt?: string;
}

/** A `large_request#<reference>` tracker naming this user. */
export interface BackfillFact {
  reference: string;
  /** `large_request_processing` or `_sending` arrived: the item has outcome `tracking`. */
  announced: boolean;
  expected?: number;
  received: number;
  firstSeen?: string;
  updatedAt?: string;
}

export interface DeadLetterMessage {
  messageId: string;
  type?: string;
  /** When it was first sent to its queue (SentTimestamp), or its delivery's `received_at`. */
  sentAt?: string;
  /** How the body was found: in the message, behind a claim check, or an S3 object key. */
  via: 'body' | 'claim check' | 's3 key';
}

export interface DeadLetterFacts {
  queue: string;
  /** What the queue's messages are: Terra deliveries, or erase-on-deauth requests (`{user_id, trigger}`). */
  holds: 'deliveries' | 'erase requests';
  /** Messages looked at; at most the cap. */
  examined: number;
  /** ApproximateNumberOfMessages (visible) before the peek. */
  approximateTotal?: number;
  capped: boolean;
  messages: DeadLetterMessage[];
  /** Claim-checked bodies left unread (over the read budget, or not in this stack's bucket). */
  unreadClaimChecks: number;
  /** The queue could not be read. */
  error?: string;
}

export interface UserFacts {
  userId: string;
  /** The terra-users item: the connection's latest state. */
  user?: Record<string, unknown>;
  archive: ArchiveFacts;
  /** Newest first, archive and terra-events merged. */
  connectionEvents: ConnectionEvent[];
  records: RecordSummary[];
  athlete?: { providerUserId?: string; receivedAt?: string };
  kept: { events: KeptEventFact[]; total: number; byOutcome: Record<string, number> };
  backfills: BackfillFact[];
  deadLetters: DeadLetterFacts[];
  /** `ping_fetch_failed` events stack-wide: a Ping names no user, so they cannot be attributed. */
  pingFailures?: { count: number; since: string };
}

export type Severity = 'problem' | 'warning' | 'ok';

export interface Finding {
  severity: Severity;
  text: string;
}

/** Days of one type missing while the connection delivers others: the range to ask Terra for again. */
export interface Gap {
  type: string;
  /** Inclusive dates, `YYYY-MM-DD`. */
  from: string;
  to: string;
  newest?: string;
  daysBehind?: number;
}

export interface Diagnosis {
  lastDelivery?: { at: string; type: string; source: 'archive' | 'tables' };
  findings: Finding[];
  gaps: Gap[];
  /** In the order to try them. */
  nextSteps: string[];
}
