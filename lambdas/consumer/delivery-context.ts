import type { DeliveryMetadata } from '../shared/delivery';
import { orderingTimestampOf } from '../shared/ordering';
import { eventId } from './items';

/** One delivery as the consumer stores it: its metadata, its ordering key, and its body's hash. */
export interface DeliveryContext extends DeliveryMetadata {
  /** `ordering_ts`: the copy's place in the ordering rule (lambdas/shared/ordering.ts). */
  orderingTs: number;
  /** SHA-256 of the delivery's body: tells a repeat from a different copy, and names a kept event. */
  bodySha256: string;
}

export const deliveryContext = (metadata: DeliveryMetadata, body: Buffer): DeliveryContext => ({
  ...metadata,
  orderingTs: orderingTimestampOf(metadata),
  bodySha256: eventId(body),
});
