import { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { payloadBucket } from '../../lambdas/shared/definitions';
import { createDocumentClient } from '../../lambdas/shared/dynamodb';
import { localCredentials, localRegion } from '../local/emulators';
import { localTableNames } from '../local/local-stack';
import { readStackOutputs } from './stack-outputs';

/** Where the team tools read from: the local stack by default, or a deployed stack's tables. */
export interface TableTarget {
  documentClient: DynamoDBDocumentClient;
  /** Reads records kept in S3 (`payload_s3`). */
  s3: S3Client;
  tableNames: { data: string; users: string; events: string };
  /** The payload bucket: kept bodies and records too large for an item, the archive. */
  bucket: string;
  description: string;
}

export function localTarget(env: NodeJS.ProcessEnv = process.env): TableTarget {
  const endpoint = `http://127.0.0.1:${env.DYNAMODB_PORT || 8000}`;
  return {
    documentClient: createDocumentClient({ endpoint, region: localRegion, credentials: localCredentials }),
    s3: new S3Client({
      endpoint: `http://127.0.0.1:${env.SQS_PORT || 9324}`,
      forcePathStyle: true,
      region: localRegion,
      credentials: localCredentials,
    }),
    tableNames: localTableNames,
    bucket: payloadBucket.localName,
    description: `local stack (${endpoint})`,
  };
}

/** Reads the table names from the stack's outputs, with the caller's usual AWS credentials. */
export async function deployedTarget(stackName: string, region?: string): Promise<TableTarget> {
  const name = await readStackOutputs(stackName, region);
  return {
    documentClient: createDocumentClient({ region }),
    s3: new S3Client({ region }),
    tableNames: { data: name('DataTableName'), users: name('UsersTableName'), events: name('EventsTableName') },
    bucket: name('PayloadBucketName'),
    description: `stack ${stackName}`,
  };
}
