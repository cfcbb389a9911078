/**
 * The figures the cost row prices usage with: AWS's public on-demand prices of one region, each
 * with where it was read, and what the model assumes rather than measures (round trips, memory
 * sizes, batching), which `measureCost` takes overrides of.
 */
import { consumerMemoryMb } from '../../lambdas/shared/definitions';

/**
 * Public on-demand prices, US East (N. Virginia), USD, as published in June 2026. `sources` says
 * where each was read: AWS's own page or document where a stored copy carried the figure, else a
 * page quoting it (dated where the page is). Check https://aws.amazon.com/pricing/ before quoting one.
 */
export const awsPrices = {
  region: 'us-east-1',
  asOf: '2026-06',
  apiGatewayHttpPerMillion: 1.0, // first 300 M requests a month; metered per 512 KB
  lambdaRequestPerMillion: 0.2,
  lambdaArmPerGbSecond: 0.0000133334, // first 7.5 billion GB-s a month
  sqsStandardPerMillion: 0.4, // each 64 KB chunk of a request's payload is one request
  dynamoDbWritePerMillion: 0.625, // on-demand write request units, after the November 2024 cut
  dynamoDbStoragePerGbMonth: 0.25,
  dynamoDbPitrPerGbMonth: 0.2,
  s3PutPerThousand: 0.005,
  s3StandardPerGbMonth: 0.023, // first 50 TB
  logsIngestPerGb: 0.5, // CloudWatch Logs standard class; Lambda's logs, first 10 TB
  sources: {
    apiGateway:
      'AWS whitepaper "Best Practices for Designing Amazon API Gateway Private APIs", cost optimization, table 4 (docs.aws.amazon.com)',
    lambda: 'cloudchipr.com/blog/aws-lambda-pricing (2025), quoting aws.amazon.com/lambda/pricing',
    sqs: 'cloudburn.io/blog/amazon-sqs-pricing (March 2026); factualminds.com (June 2026)',
    dynamoDbRequests: 'airbyte.com/data-engineering-resources/dynamodb-pricing (July 2025: after the November 2024 cut)',
    dynamoDbStorage:
      'aws.amazon.com/dynamodb/pricing ("from $0.25 per GB-month"); PITR: finops.com.py/services/dynamodb/backups ("$0.20 per GB-month", undated)',
    s3: 'devnotes.tech, understanding AWS S3 pricing (Standard storage and PUT requests, US East)',
    logs: 'c3x.dev/blog/cloudwatch-logs-cost-optimization (us-east-1, June 2026)',
  },
} as const;
export type Prices = typeof awsPrices;

/**
 * What the model assumes rather than measures. A million deliveries a month is 0.4 a second:
 * with the 1-second batching window most consumer batches hold one message (pass more for a
 * busier stack). Round trips are warm, in-region, small-payload figures; payloads add their bytes
 * at `transferMBps`. Lambda gives a function CPU in proportion to its memory, one vCPU at 1,769 MB.
 */
export const assumptions = {
  messagesPerBatch: 1,
  roundTripMs: { sqsSendMessage: 8, s3PutObject: 15, dynamoDbWrite: 5 },
  transferMBps: 100,
  ingestMemoryMb: 512,
  consumerMemoryMb,
  fullVcpuMemoryMb: 1769,
};
export type Assumptions = typeof assumptions;
