import type { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import middy from '@middy/core';
import { defaults, observability } from '../shared/definitions';
import { numberEnv, requiredEnv } from '../shared/config';
import { injectContext, JsonLogger } from '../shared/json-logger';
import { parseSecretList } from '../shared/signature';
import { parseSourceIpAllowlist } from '../shared/source-ips';
import { emfIngestMetrics } from './metrics';
import { sqsEnqueueWithReceipt } from './queue';
import { cachedSecretValue } from './signing-secret';
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
const logger = new JsonLogger({ serviceName: observability.services.ingest });
// Terra waits ~8 s: fail fast enough to answer 503 within that, so Terra retries.
const requestHandler = { connectionTimeout: 1_000, requestTimeout: 2_500 };
const sqs = new SQSClient({ maxAttempts: 2, requestHandler });
let s3: Promise<S3Client> | undefined;
// Only bodies over 1 MiB need S3; the rest never load its client (a chunk of its own in the bundle).
const lazyS3Client = () => (s3 ??= import('./s3-client').then(({ newS3Client }) => newS3Client({ maxAttempts: 2, requestHandler })));

// Cached per container for secretsMaxAge, so a rotated secret is picked up without a deploy
// and the hot path calls Secrets Manager at most once per window.
const signingSecretValue = cachedSecretValue(new SecretsManagerClient({ maxAttempts: 2, requestHandler }), signingSecretId, secretsMaxAge);

const acceptWebhook = createWebhookHandler({
  signingSecrets: async (fresh) => parseSecretList(await signingSecretValue(fresh)),
  enqueue: sqsEnqueueWithReceipt(sqs, queueUrl, { bucket: payloadBucket, client: lazyS3Client }),
  toleranceSeconds,
  now: Date.now,
  logger,
  metrics: emfIngestMetrics(),
  ...(allowedSourceIps && { allowedSourceIps }),
});
if (allowedSourceIps) logger.info('source address allowlist on', { entries: allowedSourceIps.entries.length });

export const handler = middy(acceptWebhook).use(injectContext(logger));
