/**
 * The items of one record, as the consumer really writes them (`recordPut`) in each stored form
 * (a readable `payload` map, `payload_gzip`, or an S3 pointer), sized by DynamoDB's rules, and
 * which form the product picks for a given map limit.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { gzipSync } from 'node:zlib';
import type { DeliveryContext } from '../../lambdas/consumer/delivery-context';
import { eventId, type PayloadAttributes, recordPut } from '../../lambdas/consumer/items';
import { fitsAsMap } from '../../lambdas/consumer/records';
import type { DataRecord } from '../../lambdas/consumer/route';
import type { TerraUser } from '../../lambdas/consumer/terra-schemas';
import { dataAttributes } from '../../lambdas/shared/attributes';
import { limits, tables } from '../../lambdas/shared/definitions';
import { indexEntry, itemBytes, marshallItem, writeUnits } from './item-size';

export type Form = 'map' | 'gzip' | 's3';

export interface StoredItem {
  form: Form;
  bytes: number;
  writeUnits: number;
  marshalled: Record<string, AttributeValue>;
}

export interface RecordItems {
  type: string;
  context: DeliveryContext;
  user: TerraUser;
  record: DataRecord;
  jsonBytes: number;
  /** The map form, whatever its size: over 400 KB DynamoDB would refuse it. */
  map: StoredItem;
  gzip: StoredItem;
  /** The index entry's bytes, when the record has a start time. */
  indexBytes?: number;
  /**
   * Scores to keep (records.ts): a copy whose `data_enrichment` holds nulls is put under the
   * `nothing_to_keep` condition, refused where the stored copy has scores (a write all the same),
   * and put again merged. A null `data_enrichment` (the simulator's) passes the first put.
   */
  mergesEnrichment: boolean;
}

const payloadS3Url = 's3://terra-ingest-payloads-0123456789ab/records/u/r/1795334400123-00000000-0000-4000-8000-000000000000.json';

function storedItem(
  form: Form,
  type: string,
  user: TerraUser,
  record: DataRecord,
  context: DeliveryContext,
  attributes: PayloadAttributes,
): StoredItem {
  const marshalled = marshallItem(recordPut(tables.data.localName, type, user, record, context, attributes).Item!);
  const bytes = itemBytes(marshalled);
  return { form, bytes, writeUnits: writeUnits(bytes), marshalled };
}

export function recordItems(type: string, user: TerraUser, record: DataRecord, context: DeliveryContext): RecordItems {
  const json = JSON.stringify(record.record);
  const map = storedItem('map', type, user, record, context, { [dataAttributes.payload]: record.record });
  const gzip = storedItem('gzip', type, user, record, context, { [dataAttributes.payloadGzip]: gzipSync(json) });
  const entry = indexEntry(map.marshalled);
  const enrichment = record.record.data_enrichment;
  const mergesEnrichment =
    typeof enrichment === 'object' && enrichment !== null && Object.values(enrichment).some((score) => score === null);
  return {
    type,
    context,
    user,
    record,
    jsonBytes: Buffer.byteLength(json),
    map,
    gzip,
    indexBytes: entry && itemBytes(entry),
    mergesEnrichment,
  };
}

/**
 * Where the consumer puts a record (records.ts `payloadFor`), with the map limit a setting:
 * a map up to `gzipAboveBytes` of JSON, if it nests as DynamoDB allows and the item stays under
 * 400 KB; else gzipped up to 350 KiB; else in S3, the item keeping a pointer.
 */
export function storedForm(items: RecordItems, gzipAboveBytes = limits.itemInlineMaxBytes): StoredItem {
  if (items.jsonBytes <= gzipAboveBytes && fitsAsMap(items.record.record) && items.map.bytes <= limits.dynamoDbItemBytes) return items.map;
  if (items.gzip.marshalled[dataAttributes.payloadGzip].B!.length <= limits.itemGzipMaxBytes) return items.gzip;
  return storedItem('s3', items.type, items.user, items.record, items.context, { [dataAttributes.payloadS3]: payloadS3Url });
}

/** The delivery metadata the webhook door gives a body (a Terra-minted trace id, no backfill reference). */
export function deliveryContext(body: Buffer): DeliveryContext {
  return {
    signatureTimestamp: 1_795_334_400,
    orderingTimestamp: 1_795_334_400_123,
    receivedAt: '2026-11-22T08:00:00.123Z',
    traceId: '5f0e6a4c-2b1d-4c8e-9a7f-3d2c1b0a9e8f',
    orderingTs: 1_795_334_400_123,
    bodySha256: eventId(body),
  };
}
