import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * A module of its own, imported the first time the consumer talks to SQS (handing a message back,
 * asking for an erasure): the bundle keeps the SQS client in a chunk a cold start never loads.
 */
export const newSqsClient = (): SQSClient => new SQSClient({});
