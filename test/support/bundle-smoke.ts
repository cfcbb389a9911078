import { dataAttributes } from '../../lambdas/shared/attributes';
import { dataItemKey, readRecordItem } from '../../lambdas/shared/table-items';
/**
 * Runs the bundles `cdk synth` produced (the code Lambda will run) against the local stand-ins:
 * node test/support/bundle-smoke.ts <ingest index.mjs> <consumer index.mjs> <eraser index.mjs>. Prints one JSON line.
 * Run in its own process because the bundles read their configuration from process.env at import.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { silentLogger } from '../../lambdas/shared/logger';
import { signatureHeader } from '../../lambdas/shared/signature';
import { startLocalStack } from '../../lib/local/local-stack';
import { toLambdaRecord } from '../../lib/local/sqs-event-source';

const [ingestBundle, consumerBundle, eraserBundle] = process.argv.slice(2);
const secret = 'bundle-secret';

const stack = await startLocalStack({
  port: 0,
  dynamoDbPort: 0,
  sqsPort: 0,
  signingSecrets: [],
  logger: silentLogger,
  consumerConcurrency: 0,
});
// Secrets Manager's GetSecretValue, as its JSON protocol answers it: the value holds two secrets.
const secretsManager = createServer((request, response) => {
  request.resume().on('end', () => {
    response.setHeader('content-type', 'application/x-amz-json-1.1');
    response.end(
      JSON.stringify({ ARN: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:s', Name: 's', SecretString: `previous,${secret}` }),
    );
  });
}).listen(0, '127.0.0.1');
await new Promise((resolve) => secretsManager.once('listening', resolve));

Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'local',
  AWS_SECRET_ACCESS_KEY: 'local',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secretsManager.address() as AddressInfo).port}`,
  AWS_ENDPOINT_URL_SQS: stack.sqs.endpoint,
  AWS_ENDPOINT_URL_S3: stack.sqs.endpoint,
  AWS_S3_FORCE_PATH_STYLE: 'true',
  AWS_ENDPOINT_URL_DYNAMODB: stack.dynamoDb.endpoint,
  // The emulator's queue URLs name a host that only its own clients resolve.
  QUEUE_URL: stack.queues.queueUrl.replace(/^http:\/\/[^/]+/, stack.sqs.endpoint),
  SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:s',
  PAYLOAD_BUCKET: stack.bucket,
  DATA_TABLE: stack.tableNames.data,
  USERS_TABLE: stack.tableNames.users,
  EVENTS_TABLE: stack.tableNames.events,
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  POWERTOOLS_METRICS_DISABLED: 'true',
});

const ingest = await import(ingestBundle);
const consumer = await import(consumerBundle);
const eraser = await import(eraserBundle);
const context = { functionName: 'smoke', awsRequestId: 'smoke', getRemainingTimeInMillis: () => 10_000 };
const post = (body: string, key = secret) =>
  ingest.handler(
    {
      version: '2.0',
      headers: { 'terra-signature': signatureHeader(key, body, Math.floor(Date.now() / 1000)) },
      body,
      isBase64Encoded: false,
      requestContext: { http: {} },
    },
    context,
  );

const small = JSON.stringify({
  type: 'sleep',
  user: { user_id: 'bundle-user', provider: 'WITHINGS' },
  data: [{ metadata: { summary_id: 's1', start_time: '2026-11-21T00:00:00Z' } }],
});
const large = JSON.stringify({ type: 'healthcheck', status: 'success', padding: 'x'.repeat(2_000_000) });
const statuses = [(await post(small)).statusCode, (await post(large)).statusCode, (await post(small, 'forged')).statusCode];
const { Messages = [] } = await stack.clients.sqs.send(
  new ReceiveMessageCommand({
    QueueUrl: stack.queues.queueUrl,
    MaxNumberOfMessages: 10,
    WaitTimeSeconds: 1,
    MessageAttributeNames: ['All'],
    MessageSystemAttributeNames: ['All'],
  }),
);
const batch = await consumer.handler({ Records: Messages.map((message) => toLambdaRecord(message, stack.queues.queueArn)) }, context);
const { Item } = await stack.clients.documentClient.send(
  new GetCommand({ TableName: stack.tableNames.data, Key: dataItemKey('bundle-user', 'sleep#s1') }),
);
const eraseRequest = {
  messageId: 'erase-1',
  body: JSON.stringify({ user_id: 'bundle-user', trigger: 'deauth' }),
  eventSource: 'aws:sqs',
  attributes: {},
  messageAttributes: {},
};
const erase = await eraser.handler({ Records: [eraseRequest] }, context);
const { Count: left } = await stack.clients.documentClient.send(
  new QueryCommand({
    TableName: stack.tableNames.data,
    KeyConditionExpression: '#user_id = :u',
    ExpressionAttributeNames: { '#user_id': dataAttributes.userId },
    ExpressionAttributeValues: { ':u': 'bundle-user' },
    Select: 'COUNT',
  }),
);
console.log(
  JSON.stringify({
    statuses,
    queued: Messages.length,
    claimChecked: Messages.filter((m) => m.MessageAttributes?.body_s3).length,
    batch,
    stored: Item ? readRecordItem(Item).recordId : null,
    erase,
    left,
  }),
);
await stack.stop();
secretsManager.close();
