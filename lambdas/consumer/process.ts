import { gzipSync } from 'node:zlib';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { type Delivery, orderingTimestampOf } from '../shared/delivery';
import { type DeliveryContext, eventId, eventPut, type KeptEvent, recordPut, userUpdate } from './items';
import { type Route, routeBody } from './route';

export interface TableNames {
  data: string;
  users: string;
  events: string;
}

export interface ConsumerDependencies {
  documentClient: DynamoDBDocumentClient;
  tables: TableNames;
}

/** What one delivery became; the handler turns it into log lines and metrics. */
export interface DeliveryOutcome {
  route: Route['kind'];
  type: string;
  /** For kept events: recorded, unknown_type, invalid, unparseable, rejected_by_storage. */
  outcome?: string;
  /** Items written because they were new or newer. */
  written: number;
  /** Items left alone because the stored copy was as new or newer (repeats, late copies). */
  skipped: number;
}

// Writes of one delivery run side by side, a few at a time, to stay well within a table's
// per-partition throughput (one user's records share a partition).
const writeConcurrency = 8;

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Runs a conditional write; false when the condition kept the stored copy. */
async function conditionally(write: () => Promise<unknown>): Promise<boolean> {
  try {
    await write();
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException || (error as Error).name === 'ConditionalCheckFailedException') {
      return false;
    }
    throw error;
  }
}

/** DynamoDB refused the item itself (size, an unsupported value): retrying will not help. */
function isItemRejected(error: unknown): boolean {
  return (error as Error).name === 'ValidationException';
}

export async function processDelivery(delivery: Delivery, deps: ConsumerDependencies): Promise<DeliveryOutcome> {
  const { documentClient: db, tables } = deps;
  const context: DeliveryContext = { ...delivery, orderingTs: orderingTimestampOf(delivery), bodySha256: eventId(delivery.body) };
  const route = routeBody(delivery.body.toString('utf8'));

  const keep = async (event: KeptEvent): Promise<DeliveryOutcome> => {
    const written = await conditionally(() => db.send(new PutCommand(eventPut(tables.events, event, delivery.body, context))));
    return { route: 'event', type: event.type, outcome: event.outcome, written: written ? 1 : 0, skipped: written ? 0 : 1 };
  };

  switch (route.kind) {
    case 'data': {
      try {
        const results = await mapLimit(route.records, writeConcurrency, async (record) => {
          try {
            return await conditionally(() => db.send(new PutCommand(recordPut(tables.data, route.type, route.user, record, context))));
          } catch (error) {
            if (!isItemRejected(error)) throw error;
            // A record DynamoDB will not take as a map (e.g. a value outside its number range)
            // is stored compressed instead: the JSON is kept byte for byte.
            const compressed = { payload_gzip: gzipSync(JSON.stringify(record.record)) };
            return conditionally(() =>
              db.send(new PutCommand(recordPut(tables.data, route.type, route.user, record, context, compressed))),
            );
          }
        });
        const written = results.filter(Boolean).length;
        return { route: 'data', type: route.type, written, skipped: results.length - written };
      } catch (error) {
        if (!isItemRejected(error)) throw error;
        return keep({
          type: route.type,
          outcome: 'rejected_by_storage',
          reason: `DynamoDB refused a record: ${(error as Error).message}`,
          userId: route.user.user_id,
        });
      }
    }
    case 'connection': {
      // The old user of a user_reauth is written after the new one, so "replaced_by" always
      // points at a user that exists.
      let written = 0;
      for (const change of route.changes) {
        if (await conditionally(() => db.send(new UpdateCommand(userUpdate(tables.users, route.type, change, context))))) {
          written++;
        }
      }
      return { route: 'connection', type: route.type, written, skipped: route.changes.length - written };
    }
    case 'event':
      return keep(route);
  }
}
