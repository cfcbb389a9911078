import type { S3ObjectCreated } from './doors';
import type { ConsumerDependencies, DeliveryOutcome } from './process';

/**
 * Terra's S3 destination: an object Terra wrote is read and processed like a pushed event.
 * (Skeleton: the implementation lands with the S3-destination work.)
 */
export async function processS3Object(object: S3ObjectCreated, _deps: ConsumerDependencies, _attempt: number): Promise<DeliveryOutcome> {
  throw new Error(`S3 destination object ${object.bucket}/${object.key}: not implemented yet`);
}
