// The ingest function's cold-start floor: a bundle that only builds the SQS client.
import { SQSClient } from '@aws-sdk/client-sqs';

export const sqs = new SQSClient({});
export const handler = async () => ({ statusCode: 200 });
