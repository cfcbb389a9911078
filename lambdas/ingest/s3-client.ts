import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

/**
 * A module of its own, imported on the first body too large for one SQS message: the bundle keeps
 * it, and the S3 client with it, in a chunk the ingest function's cold start never loads.
 */
export const newS3Client = (config: S3ClientConfig): S3Client => new S3Client(config);
