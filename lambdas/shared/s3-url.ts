/** `s3://bucket/key` pointers, as stored in messages and items: no S3 client needed to read or make one. */

export function s3Url(bucket: string, key: string): string {
  return `s3://${bucket}/${key}`;
}

export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!match) throw new Error(`not an s3:// URL: ${url}`);
  return { bucket: match[1], key: match[2] };
}
