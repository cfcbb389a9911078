import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';

import { parseS3Url } from './s3-url';

// Named imports, so a bundle holds these commands and no other of S3's hundred. The ingest
// function, which needs S3 only for bodies over one SQS message, imports this module
// dynamically (lambdas/ingest/queue.ts), so its cold start never evaluates them.

/**
 * Above this an object is uploaded in parts: S3 takes 5 GB in one PUT, but request bodies that
 * large are slow to retry, and the local emulator accepts ~11 MiB per request.
 */
export const multipartThresholdBytes = 8 * 1024 * 1024;

export async function putObject(client: S3Client, url: string, body: Buffer | string, metadata?: Record<string, string>): Promise<void> {
  const { bucket, key } = parseS3Url(url);
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  if (bytes.length <= multipartThresholdBytes) {
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Metadata: metadata }));
    return;
  }
  await putMultipart(client, bucket, key, bytes, metadata);
}

async function putMultipart(client: S3Client, bucket: string, key: string, bytes: Buffer, metadata?: Record<string, string>) {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, Metadata: metadata }));
  try {
    const parts: { ETag?: string; PartNumber: number }[] = [];
    for (let offset = 0, part = 1; offset < bytes.length; offset += multipartThresholdBytes, part++) {
      const chunk = bytes.subarray(offset, offset + multipartThresholdBytes);
      const { ETag } = await client.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: part, Body: chunk }));
      parts.push({ ETag, PartNumber: part });
    }
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (error) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
    throw error;
  }
}

/**
 * `versionId` reads that version rather than the key's latest: an S3 notification names the
 * version it announces, and by the time it is read a later write may have replaced the key.
 */
export async function getObject(
  client: S3Client,
  url: string,
  versionId?: string,
): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const { bucket, key } = parseS3Url(url);
  const response = await client.send(
    new GetObjectCommand({ Bucket: bucket, Key: key, ...(versionId !== undefined && { VersionId: versionId }) }),
  );
  return { body: Buffer.from(await response.Body!.transformToByteArray()), metadata: response.Metadata ?? {} };
}

export async function deleteObject(client: S3Client, url: string): Promise<void> {
  const { bucket, key } = parseS3Url(url);
  await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
}
