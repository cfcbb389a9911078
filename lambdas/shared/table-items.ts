import { dataAttributes as data, eventAttributes as event, userAttributes as user } from './attributes';

/**
 * Keys and typed readers of the three tables' items, for everything that reads what the consumer
 * wrote: the consumer itself (a refused write's stored copy), the eraser, the tools and the tests.
 * The writes are built in lambdas/consumer/items.ts. Pure: no I/O.
 */

type Item = Record<string, unknown>;

export const dataItemKey = (userId: string, recordId: string) => ({ [data.userId]: userId, [data.recordId]: recordId });
export const userItemKey = (userId: string) => ({ [user.userId]: userId });
export const eventItemKey = (eventId: string) => ({ [event.eventId]: eventId });

const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
const number = (value: unknown): number | undefined =>
  typeof value === 'number' ? value : value === undefined ? undefined : Number(value);

/** How a record or an event body was kept: inline, gzipped, or in S3. */
export type StoredForm = 'map' | 'text' | 'gzip' | 's3' | 'missing';

/** A terra-data item, as stored. */
export interface RecordItem {
  userId: string;
  recordId: string;
  type: string;
  provider?: string;
  referenceId?: string;
  startTime?: string;
  endTime?: string;
  summaryId?: string;
  orderingTs: number;
  receivedAt: string;
  bodySha256: string;
  terraReference?: string;
  s3Sequencer?: string;
  deleted: boolean;
  deletedAt?: string;
  fitS3?: string;
  form: StoredForm;
  payloadS3?: string;
}

export function readRecordItem(item: Item): RecordItem {
  return {
    userId: String(item[data.userId]),
    recordId: String(item[data.recordId]),
    type: String(item[data.type]),
    provider: text(item[data.provider]),
    referenceId: text(item[data.referenceId]),
    startTime: text(item[data.startTime]),
    endTime: text(item[data.endTime]),
    summaryId: text(item[data.summaryId]),
    orderingTs: Number(item[data.orderingTs]),
    receivedAt: String(item[data.receivedAt]),
    bodySha256: String(item[data.bodySha256]),
    terraReference: text(item[data.terraReference]),
    s3Sequencer: text(item[data.s3Sequencer]),
    deleted: item[data.deleted] === true,
    deletedAt: text(item[data.deletedAt]),
    fitS3: text(item[data.fitS3]),
    form: recordForm(item),
    payloadS3: text(item[data.payloadS3]),
  };
}

export function recordForm(item: Item): StoredForm {
  if (item[data.payload] !== undefined) return 'map';
  if (item[data.payloadGzip] instanceof Uint8Array) return 'gzip';
  if (typeof item[data.payloadS3] === 'string') return 's3';
  return 'missing';
}

/** A terra-users item, as stored. */
export interface UserItem {
  userId: string;
  provider?: string;
  referenceId?: string;
  status?: string;
  active?: boolean;
  scopes?: string;
  replaces?: string;
  replacedBy?: string;
  lastEventType?: string;
  updatedAt?: string;
  orderingTs?: number;
}

export function readUserItem(item: Item): UserItem {
  return {
    userId: String(item[user.userId]),
    provider: text(item[user.provider]),
    referenceId: text(item[user.referenceId]),
    status: text(item[user.status]),
    active: typeof item[user.active] === 'boolean' ? (item[user.active] as boolean) : undefined,
    scopes: text(item[user.scopes]),
    replaces: text(item[user.replaces]),
    replacedBy: text(item[user.replacedBy]),
    lastEventType: text(item[user.lastEventType]),
    updatedAt: text(item[user.updatedAt]),
    orderingTs: number(item[user.orderingTs]),
  };
}

/** A terra-events item: a kept event, or (type `large_request`, or no type yet) a backfill's tracker. */
export interface EventItem {
  eventId: string;
  type?: string;
  outcome?: string;
  reason?: string;
  userId?: string;
  receivedAt?: string;
  signatureTs?: number;
  orderingTs?: number;
  terraReference?: string;
  traceId?: string;
  form: StoredForm;
  bodyS3?: string;
  /** Trackers only. */
  reference?: string;
  updatedAt?: string;
  expectedPayloads?: number;
  /** Trackers only: how many distinct data events carrying the reference arrived. */
  receivedPayloads: number;
}

export function readEventItem(item: Item): EventItem {
  const received = item[event.receivedPayloads];
  return {
    eventId: String(item[event.eventId]),
    type: text(item[event.type]),
    outcome: text(item[event.outcome]),
    reason: text(item[event.reason]),
    userId: text(item[event.userId]),
    receivedAt: text(item[event.receivedAt]),
    signatureTs: number(item[event.signatureTs]),
    orderingTs: number(item[event.orderingTs]),
    terraReference: text(item[event.terraReference]),
    traceId: text(item[event.traceId]),
    form: eventBodyForm(item),
    bodyS3: text(item[event.bodyS3]),
    reference: text(item[event.reference]),
    updatedAt: text(item[event.updatedAt]),
    expectedPayloads: number(item[event.expectedPayloads]),
    receivedPayloads: received instanceof Set ? received.size : 0,
  };
}

export function eventBodyForm(item: Item): StoredForm {
  if (typeof item[event.body] === 'string') return 'text';
  if (item[event.bodyGzip] instanceof Uint8Array) return 'gzip';
  if (typeof item[event.bodyS3] === 'string') return 's3';
  return 'missing';
}
