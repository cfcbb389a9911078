/**
 * `npm start`: terra-ingest on this machine. Reads the documented environment variables,
 * starts the local stack and prints where everything listens.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { numberEnv } from '../lambdas/shared/config';
import { defaults, erasure, queueSettings, terraApi } from '../lambdas/shared/definitions';
import { parseSecretList } from '../lambdas/shared/signature';
import { loadOrCreateDevSecret } from '../lib/local/dev-secret';
import { startLocalStack } from '../lib/local/local-stack';

async function main() {
  const env = process.env;
  const dataDir = env.LOCAL_DATA_DIR || '.local';
  const configured = parseSecretList(env.TERRA_SIGNING_SECRET);
  const signingSecrets = configured.length > 0 ? configured : [loadOrCreateDevSecret(dataDir).secret];

  const logger = new Logger({ serviceName: 'terra-ingest-local', logLevel: (env.POWERTOOLS_LOG_LEVEL as 'INFO') ?? 'INFO' });
  const stack = await startLocalStack({
    port: numberEnv('PORT', 3000),
    dynamoDbPort: numberEnv('DYNAMODB_PORT', 8000),
    sqsPort: numberEnv('SQS_PORT', 9324),
    adminPort: numberEnv('ADMIN_PORT', 8001),
    dataDir,
    signingSecrets,
    toleranceSeconds: numberEnv('TERRA_SIGNATURE_TOLERANCE_SECONDS', defaults.signatureToleranceSeconds),
    queue: { visibilityTimeoutSeconds: numberEnv('QUEUE_VISIBILITY_TIMEOUT_SECONDS', queueSettings.visibilityTimeoutSeconds) },
    consumerConcurrency: numberEnv('CONSUMER_CONCURRENCY', 2),
    terraApiPort: numberEnv('TERRA_API_PORT', terraApi.localPort),
    ...(process.env.ERASE_ON_DEAUTH === 'true' && {
      eraseOnDeauth: { delaySeconds: numberEnv('ERASE_DELAY_SECONDS', erasure.delaySeconds) },
    }),
    // The same optional second layer as the deployed ingest function (a refused address gets 403).
    allowedSourceIps: process.env.ALLOWED_SOURCE_IPS,
    logger,
  });

  const lines = [
    'terra-ingest local stack is running',
    `  webhook        POST ${stack.webhookUrl}`,
    `  health         GET  ${stack.healthUrl}`,
    `  DynamoDB       ${stack.dynamoDb.endpoint}  (tables ${Object.values(stack.tableNames).join(', ')})`,
    `  SQS and S3     ${stack.sqs.endpoint}  (queue ${stack.queues.queueUrl}, bucket ${stack.bucket})`,
    `  destinations   Terra's SQS destination: queue ${stack.destinations.queueUrl}`,
    `                 Terra's S3 destination: bucket ${stack.destinations.bucket}, notifying ${stack.destinations.notificationQueueUrl}`,
    `  tables in a browser  ${stack.adminUrl}`,
    `  Terra API stand-in (not Terra): ${stack.terraApiUrl}`,
    ...(stack.erasureQueues
      ? [`  erase on deauth  on: a deauth or access_revoked erases the user (queue ${stack.erasureQueues.queueUrl})`]
      : []),
    `  state          ${dataDir}/`,
    configured.length > 0
      ? `  signing secret from TERRA_SIGNING_SECRET (${configured.length} accepted)`
      : `  signing secret (development, generated; saved in ${dataDir}/signing-secret): ${signingSecrets[0]}`,
    '',
    'Try it: npm run simulate [-- --via sqs|s3]   then   npm run inspect -- <user_id>   (Ctrl-C stops)',
  ];
  console.log(lines.join('\n'));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping (finishing batches in flight)…`);
    await stack.stop();
    console.log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((error) => {
  console.error(`terra-ingest local stack failed to start: ${(error as Error).message}`);
  if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    console.error('A port is taken: set PORT, DYNAMODB_PORT, SQS_PORT, ADMIN_PORT or TERRA_API_PORT to free ones.');
  }
  process.exit(1);
});
