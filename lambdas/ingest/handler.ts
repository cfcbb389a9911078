import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import type { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { defaults, observability } from '../shared/definitions';
import { numberEnv, requiredEnv } from '../shared/config';
import { parseSecretList } from '../shared/signature';
import { parseSourceIpAllowlist } from '../shared/source-ips';
import { emfIngestMetrics } from './metrics';
import { sqsEnqueueWithReceipt } from './queue';
import { createWebhookHandler } from './webhook';

// Parsed once per container; a missing setting fails the cold start loudly.
const queueUrl = requiredEnv('QUEUE_URL');
const signingSecretId = requiredEnv('SIGNING_SECRET_ID');
const toleranceSeconds = numberEnv('TERRA_SIGNATURE_TOLERANCE_SECONDS', defaults.signatureToleranceSeconds);
const secretsMaxAge = numberEnv('SIGNING_SECRET_MAX_AGE_SECONDS', defaults.secretsMaxAgeSeconds);
const payloadBucket = requiredEnv('PAYLOAD_BUCKET');
// Off unless set; a malformed entry throws here.
const allowedSourceIps = parseSourceIpAllowlist(process.env.ALLOWED_SOURCE_IPS);

// The service name is the one the metrics' `service` dimension and the log queries use, whatever
// POWERTOOLS_SERVICE_NAME says.
const logger = new Logger({ serviceName: observability.services.ingest });
// Terra waits ~8 s: fail fast enough to answer 503 within that, so Terra retries.
const requestHandler = { connectionTimeout: 1_000, requestTimeout: 2_500 };
const sqs = new SQSClient({ maxAttempts: 2, requestHandler });
let s3: Promise<S3Client> | undefined;
// Only bodies over 1 MiB need S3; the rest never load its client.
const lazyS3Client = () =>
  (s3 ??= import('@aws-sdk/client-s3').then(({ S3Client: Client }) => new Client({ maxAttempts: 2, requestHandler })));

const acceptWebhook = createWebhookHandler({
  // Cached per container for secretsMaxAge, so a rotated secret is picked up without a deploy
  // and the hot path calls Secrets Manager at most once per window.
  signingSecrets: async (fresh) =>
    parseSecretList(await getSecret<string>(signingSecretId, { maxAge: secretsMaxAge, forceFetch: fresh ?? false })),
  enqueue: sqsEnqueueWithReceipt(sqs, queueUrl, { bucket: payloadBucket, client: lazyS3Client }),
  toleranceSeconds,
  now: Date.now,
  logger,
  metrics: emfIngestMetrics(),
  ...(allowedSourceIps && { allowedSourceIps }),
});
if (allowedSourceIps) logger.info('source address allowlist on', { entries: allowedSourceIps.entries.length });

export const handler = middy(acceptWebhook).use(injectLambdaContext(logger));
