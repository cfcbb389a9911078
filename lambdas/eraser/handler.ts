import { S3Client } from '@aws-sdk/client-s3';
import middy from '@middy/core';
import { requiredEnv } from '../shared/config';
import { observability } from '../shared/definitions';
import { createDocumentClient } from '../shared/dynamodb';
import { injectContext, JsonLogger } from '../shared/json-logger';
import { createEraserHandler } from './requests';

// Parsed once per container; a missing setting fails the cold start loudly.
const tables = {
  data: requiredEnv('DATA_TABLE'),
  users: requiredEnv('USERS_TABLE'),
  events: requiredEnv('EVENTS_TABLE'),
};
const bucket = requiredEnv('PAYLOAD_BUCKET');

// Named here, not by POWERTOOLS_SERVICE_NAME: the log queries use this name.
const logger = new JsonLogger({ serviceName: observability.services.eraser });

export const handler = middy(
  createEraserHandler({ documentClient: createDocumentClient(), tables, s3: new S3Client({}), bucket, logger }),
).use(injectContext(logger));
