/**
 * The single source of truth for the shapes the CDK stack, the Lambda handlers and the local
 * stack share: table keys and indexes, queue settings, message attribute names and AWS limits.
 * Plain data only, so that it bundles into the Lambdas without pulling in aws-cdk-lib. The items'
 * attribute names are in attributes.ts, which the keys here are taken from.
 */
import {
  endTimeAttribute,
  eventIdAttribute,
  orderingTsAttribute,
  outcomeAttribute,
  providerAttribute,
  reasonAttribute,
  receivedAtAttribute,
  recordIdAttribute,
  referenceIdAttribute,
  startTimeAttribute,
  summaryIdAttribute,
  typeAttribute,
  userIdAttribute,
  userTypeAttribute,
} from './attributes';

export interface KeyAttribute {
  name: string;
  type: 'S' | 'N' | 'B';
}

export interface IndexDefinition {
  indexName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  /** Non-key attributes copied into the index (the table's and index's keys always are); undefined projects ALL. */
  nonKeyAttributes?: string[];
}

export interface TableDefinition {
  /** Name used by the local stack; AWS tables get generated names (stack outputs). */
  localName: string;
  partitionKey: KeyAttribute;
  sortKey?: KeyAttribute;
  globalSecondaryIndexes: IndexDefinition[];
}

/** One item per Terra record: `user_id` + `record_id` (`<type>#<identifier>`). */
export const dataTable = {
  localName: 'terra-data',
  partitionKey: { name: userIdAttribute, type: 'S' },
  sortKey: { name: recordIdAttribute, type: 'S' },
  globalSecondaryIndexes: [
    {
      // Lists one user's records of one type by start time, without reading their payloads.
      indexName: 'user-type-start-time',
      partitionKey: { name: userTypeAttribute, type: 'S' },
      sortKey: { name: startTimeAttribute, type: 'S' },
      nonKeyAttributes: [typeAttribute, providerAttribute, endTimeAttribute, summaryIdAttribute, orderingTsAttribute, receivedAtAttribute],
    },
  ],
} as const satisfies TableDefinition;

/** One item per Terra user: the connection's latest known state. */
export const usersTable = {
  localName: 'terra-users',
  partitionKey: { name: userIdAttribute, type: 'S' },
  globalSecondaryIndexes: [{ indexName: 'reference-id', partitionKey: { name: referenceIdAttribute, type: 'S' } }],
} as const satisfies TableDefinition;

/** Every authenticated delivery that is not a data record or a connection change, with its outcome. */
export const eventsTable = {
  localName: 'terra-events',
  partitionKey: { name: eventIdAttribute, type: 'S' },
  globalSecondaryIndexes: [
    {
      // "Show me everything that was kept as invalid this week."
      indexName: 'outcome-received-at',
      partitionKey: { name: outcomeAttribute, type: 'S' },
      sortKey: { name: receivedAtAttribute, type: 'S' },
      nonKeyAttributes: [typeAttribute, userIdAttribute, reasonAttribute],
    },
  ],
} as const satisfies TableDefinition;

export const tables = { data: dataTable, users: usersTable, events: eventsTable } as const;

/**
 * The consumer's Lambda timeout; the queue's visibility timeout is derived from it. Room for a
 * Ping-mode fetch of tens of MB plus the writes of a batch.
 */
export const consumerTimeoutSeconds = 60;

/** Room for one Ping-mode payload at the size guard, parsed, beside the batch's other records. */
export const consumerMemoryMb = 1536;

export const queueSettings = {
  localName: 'terra-ingest-webhooks',
  deadLetterQueueLocalName: 'terra-ingest-webhooks-dlq',
  // AWS advises at least six times the function timeout for an SQS event source.
  visibilityTimeoutSeconds: 6 * consumerTimeoutSeconds,
  maxReceiveCount: 5,
  // Terra retries for ~24 h; the queues keep what they hold well beyond a long weekend.
  retentionPeriodSeconds: 14 * 24 * 60 * 60,
  deadLetterRetentionPeriodSeconds: 14 * 24 * 60 * 60,
  batchSize: 10,
  maxBatchingWindowSeconds: 1,
} as const;

/** SQS message attributes carrying the delivery metadata next to the untouched body. */
export const messageAttributes = {
  signatureTimestamp: 'signature_timestamp',
  orderingTimestamp: 'ordering_timestamp',
  terraReference: 'terra_reference',
  traceId: 'trace_id',
  receivedAt: 'received_at',
  /** `base64` when the body is not text SQS can carry as is; absent for plain text. */
  bodyEncoding: 'body_encoding',
  /** `s3://bucket/key` of the body when it was too large for a message (claim check). */
  bodyS3: 'body_s3',
} as const;

/**
 * One bucket, prefixes with their own lifetimes: bodies too large for SQS (kept as long as a
 * message can live, dead-letter queue included), the raw archive of every authenticated delivery
 * (for replay), and records and kept event bodies too large for a DynamoDB item (kept as long as
 * the item).
 */
export const payloadBucket = {
  localName: 'terra-ingest-payloads',
  prefixes: {
    deliveries: 'deliveries/',
    archive: 'archive/',
    records: 'records/',
    events: 'events/',
    /**
     * Zero-byte markers naming one user's archived deliveries and claim-checked bodies (keys that
     * do not name the user), so erasing a user lists their share, not the whole archive. Same
     * lifetime as archive/.
     */
    archiveIndex: 'archive-index/',
  },
  deliveriesRetentionDays: 15,
  archiveRetentionDays: 30,
} as const;

/**
 * Terra's own AWS destinations (docs/terra.md §10), opt-in beside the webhook. Locally
 * `npm start` always creates them, under these names, on the SQS/S3 server.
 */
export const destinations = {
  /** Terra sends `s3_payload` (and `healthcheck`) messages here. */
  queue: {
    localName: 'terra-ingest-destination',
    deadLetterQueueLocalName: 'terra-ingest-destination-dlq',
    /** The IAM actions Terra's access key needs on the queue, and nothing more. */
    terraActions: ['sqs:SendMessage', 'sqs:GetQueueUrl'],
  },
  /** Terra writes whole events here; ObjectCreated notifications reach the consumer through a queue. */
  bucket: {
    localName: 'terra-ingest-destination',
    notificationQueueLocalName: 'terra-ingest-destination-events',
    notificationDeadLetterQueueLocalName: 'terra-ingest-destination-events-dlq',
    /** What Terra's IAM user may do: write objects, nothing else. */
    terraUserActions: ['s3:PutObject'],
    /** What Terra's role may do when a bucket policy names it instead (older docs). */
    terraRoleActions: ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'],
    /** Terra's role in its older documentation. */
    terraRoleArn: 'arn:aws:iam::760292141147:role/EC2_Instance_Perms',
    /** Objects are copied into the tables and the archive; the bucket keeps them this long. */
    retentionDays: 30,
    /** An activity's raw FIT file sits beside its JSON under the same name. */
    fitSuffix: '.fit',
  },
} as const;

/** Terra's REST API for history (docs/terra.md §7). */
export const terraApi = {
  productionUrl: 'https://api.tryterra.co/v2',
  /** The local stand-in `npm start` serves (lib/local/terra-api); `$TERRA_API_PORT` overrides. */
  localPort: 3001,
  /** Data types with a history endpoint: `GET /<type>`. */
  types: ['activity', 'body', 'daily', 'sleep', 'menstruation', 'nutrition', 'athlete'],
  /** Ranges up to this many days are answered synchronously (`to_webhook=false`). */
  synchronousMaxDays: 28,
  /** One request covers at most this many days. */
  requestMaxDays: 1825,
  /** Days one user may request per rolling hour. */
  userDaysPerHour: 6000,
  headers: { devId: 'dev-id', apiKey: 'x-api-key', reference: 'terra-reference' },
} as const;

/**
 * Erase on deauth (stack prop `eraseOnDeauth`): the consumer asks, the eraser function erases
 * (lambdas/eraser), through a queue of its own, so no erase runs on the ingest path or holds up
 * a consumer batch.
 */
export const erasure = {
  queueLocalName: 'terra-ingest-erasures',
  deadLetterQueueLocalName: 'terra-ingest-erasures-dlq',
  /** Connection events after which the user is erased. */
  triggers: ['deauth', 'access_revoked'],
  /**
   * The request waits this long in its queue (SQS's longest delay), so the user's deliveries
   * already queued, which SQS does not keep in order, are stored before the erase, not after it.
   */
  delaySeconds: 900,
  /** One user's erase: queries, a scan of terra-events, listings and batched deletes. */
  functionTimeoutSeconds: 300,
} as const;

/** Terra's webhook headers, lower-cased (API Gateway v2 lower-cases header names). */
export const terraHeaders = {
  signature: ['terra-signature', 'x-terra-signature'],
  orderingTimestamp: 'x-terra-ordering-timestamp',
  reference: 'terra-reference',
  traceId: 'x-terra-trace-id',
} as const;

/**
 * The addresses Terra says its webhooks come from (docs/terra.md §1). Terra says they may change
 * and must never be the only protection: the optional allowlist is a second layer behind the
 * signature, off by default.
 */
export const terraSourceIps = [
  '18.133.218.210',
  '18.169.82.189',
  '18.132.162.19',
  '18.130.218.186',
  '13.43.183.154',
  '3.11.208.36',
  '35.214.201.105',
  '35.214.230.71',
  '35.214.252.53',
] as const;

export const limits = {
  /** Lambda's synchronous invocation payload limit (the whole API Gateway event). */
  lambdaSyncPayloadBytes: 6 * 1024 * 1024,
  /** API Gateway HTTP API request body limit. */
  apiGatewayBodyBytes: 10 * 1024 * 1024,
  sqsMessageBytes: 1024 * 1024,
  dynamoDbItemBytes: 400 * 1024,
  /** DynamoDB's largest partition key value; a longer identifier is left out of a kept event, not cut. */
  dynamoDbPartitionKeyBytes: 2048,
  /**
   * A record's JSON (or a kept event's text body) up to this size may stay readable in its item;
   * the rest of the 400 KB holds the keys and attributes. Records are gzipped from a smaller size
   * still (defaults.recordMapMaxBytes).
   */
  itemInlineMaxBytes: 300 * 1024,
  /** Gzipped JSON up to this size stays in the item (`payload_gzip`, `body_gzip`); larger goes to S3. */
  itemGzipMaxBytes: 350 * 1024,
  /** A kept event's type or reason longer than this is cut, so a hostile header cannot fill the item. */
  keptTextMaxLength: 1024,
  /**
   * Largest Ping-mode (`s3_payload`) download the consumer accepts: parsed, a payload takes
   * several times its size in memory (see consumerMemoryMb).
   */
  pingMaxBytes: 64 * 1024 * 1024,
  /** How long the consumer waits for one Ping-mode download; three tries must fit its timeout. */
  pingTimeoutMs: 15_000,
} as const;

export const defaults = {
  signatureToleranceSeconds: 300,
  /** How long a Lambda container keeps the signing secrets before reading them again. */
  secretsMaxAgeSeconds: 300,
  /**
   * Records whose JSON is larger are stored gzipped (`payload_gzip`) rather than as a readable map
   * (`payload`); stack prop `recordMapMaxBytes`, consumer variable `RECORD_MAP_MAX_BYTES`. From
   * about 0.75 KiB of JSON a map item passes 1 KB, and gzip saves at least half its write units
   * (ten times fewer on a day of samples): `npm run bench`'s cost rows. 307200 (300 KiB) keeps every
   * record a map that fits in an item.
   */
  recordMapMaxBytes: 768,
} as const;

/**
 * The metrics the functions emit (CloudWatch embedded metric format) and the alarms and the
 * dashboard read: one list, so a renamed metric cannot leave an alarm watching nothing.
 */
export const observability = {
  namespace: 'TerraIngest',
  /** `service` dimension of each function's metrics (POWERTOOLS_SERVICE_NAME). */
  services: { ingest: 'terra-ingest-webhook', consumer: 'terra-ingest-consumer', eraser: 'terra-ingest-eraser' },
  metrics: {
    /** Ingest: a delivery verified and durably enqueued. */
    deliveriesAccepted: 'DeliveriesAccepted',
    /** Ingest: a request refused, dimension `reason` (a signature failure, source_ip_not_allowed, …). */
    deliveriesRejected: 'DeliveriesRejected',
    /** Ingest: bytes of each accepted body. */
    bodyBytes: 'BodyBytes',
    /** Ingest: a body too large for one SQS message, put in S3 first. */
    claimChecked: 'ClaimChecked',
    /** Ingest: a verified delivery that could not be enqueued (answered 503, Terra retries). */
    enqueueFailed: 'EnqueueFailed',
    /** Consumer: items written, and stale or repeated copies skipped. */
    itemsWritten: 'ItemsWritten',
    staleOrRepeatedSkipped: 'StaleOrRepeatedSkipped',
    /** Consumer: a body kept in terra-events, dimension `outcome`. */
    eventsKept: 'EventsKept',
    /** Consumer: a Ping-mode (`s3_payload`) download that failed, retried or not. */
    pingDownloadFailures: 'PingDownloadFailures',
    /** Consumer: bytes of each delivery's body, claim-checked and Ping-mode bodies included. */
    payloadBytes: 'PayloadBytes',
  },
  /** Kept-event outcomes that mean something is wrong, each alarmed on. */
  alarmedOutcomes: ['invalid', 'ping_fetch_failed', 'rejected_by_storage'],
  /** Structured-log keys that follow one delivery from ingest to consumer. */
  logKeys: { traceId: 'trace_id', terraReference: 'terra_reference', messageId: 'sqs_message_id', userId: 'user_id' },
} as const;
