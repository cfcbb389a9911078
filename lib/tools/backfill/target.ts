import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { sqsEnqueue } from '../../../lambdas/ingest/queue';
import { payloadBucket, queueSettings, terraApi } from '../../../lambdas/shared/definitions';
import type { Delivery } from '../../../lambdas/shared/delivery';
import { localCredentials, localRegion } from '../../local/emulators';
import { readStackOutputs } from '../stack-outputs';
import { deployedTarget, localTarget, type TableTarget } from '../tables';
import type { TerraCredentials } from './terra-api-client';

/**
 * Where a backfill talks to: which Terra API (the local stand-in, Terra, or `TERRA_API_URL`), with
 * which credentials, and which stack's queue and tables receive the data.
 */

export interface StackRef {
  name: string;
  region?: string;
}

export interface ApiEndpoint {
  url: string;
  /** Said next to the URL, so nobody mistakes the stand-in for Terra. */
  label: string;
}

export function apiEndpointOf(env: NodeJS.ProcessEnv, stack?: StackRef): ApiEndpoint {
  if (env.TERRA_API_URL) {
    const production = env.TERRA_API_URL.replace(/\/+$/, '') === terraApi.productionUrl;
    return { url: env.TERRA_API_URL, label: production ? 'Terra production, from TERRA_API_URL' : 'TERRA_API_URL' };
  }
  if (stack) return { url: terraApi.productionUrl, label: 'Terra production' };
  return { url: `http://127.0.0.1:${env.TERRA_API_PORT || terraApi.localPort}`, label: 'local stand-in, not Terra' };
}

export interface ResolvedCredentials {
  credentials: TerraCredentials;
  /** Where they came from, printed (never the values). */
  source: string;
}

/** A missing or unusable credential: the message says how to fix it. */
export class CredentialsError extends Error {}

/** Placeholders for the local stand-in, which takes any non-empty credentials. */
export const placeholderCredentials: TerraCredentials = { devId: 'local-dev-id', apiKey: 'local-api-key' };

const fillCommand = (secretName: string, stack: StackRef) =>
  `aws secretsmanager put-secret-value --secret-id ${secretName}${stack.region ? ` --region ${stack.region}` : ''} --secret-string '{"dev_id":"<your dev-id>","api_key":"<your API key>"}'`;

function unusableSecret(secretName: string, stack: StackRef, why: string): CredentialsError {
  return new CredentialsError(
    [
      `Terra API credentials: the secret ${secretName} (stack output ApiCredentialsSecretName) ${why}.`,
      "Fill it with the dev-id and API key from Terra's dashboard:",
      `  ${fillCommand(secretName, stack)}`,
      'or set TERRA_DEV_ID and TERRA_API_KEY in the environment (they take precedence).',
    ].join('\n'),
  );
}

/** `{"dev_id": "...", "api_key": "..."}`, both non-empty strings. */
export function parseCredentialsSecret(value: string | undefined, secretName: string, stack: StackRef): TerraCredentials {
  if (value === undefined || value.trim() === '') throw unusableSecret(secretName, stack, 'is empty');
  let parsed: { dev_id?: unknown; api_key?: unknown };
  try {
    parsed = JSON.parse(value);
  } catch {
    throw unusableSecret(secretName, stack, 'is not JSON');
  }
  const { dev_id: devId, api_key: apiKey } = parsed ?? {};
  if (typeof devId !== 'string' || devId === '' || typeof apiKey !== 'string' || apiKey === '') {
    throw unusableSecret(secretName, stack, 'lacks a non-empty "dev_id" or "api_key"');
  }
  return { devId, apiKey };
}

export interface CredentialSources {
  /** Reads a secret's current string value; undefined when it has none yet. */
  readSecret: (secretId: string, region?: string) => Promise<string | undefined>;
  /** The stack's `ApiCredentialsSecretName` output. */
  secretName: (stack: StackRef) => Promise<string>;
}

/** Env wins; then, with --stack, the stack's secret; locally, placeholders. */
export async function resolveCredentials(
  env: NodeJS.ProcessEnv,
  stack: StackRef | undefined,
  sources: CredentialSources,
): Promise<ResolvedCredentials> {
  const devId = env.TERRA_DEV_ID;
  const apiKey = env.TERRA_API_KEY;
  if (devId || apiKey) {
    if (!devId || !apiKey) throw new CredentialsError('Set both TERRA_DEV_ID and TERRA_API_KEY, or neither.');
    return { credentials: { devId, apiKey }, source: 'TERRA_DEV_ID and TERRA_API_KEY' };
  }
  if (!stack) {
    return {
      credentials: placeholderCredentials,
      source: 'placeholders (TERRA_DEV_ID and TERRA_API_KEY are unset; the local stand-in accepts any)',
    };
  }
  const secretName = await sources.secretName(stack);
  const value = await sources.readSecret(secretName, stack.region);
  return { credentials: parseCredentialsSecret(value, secretName, stack), source: `Secrets Manager ${secretName}` };
}

/** Secrets Manager, with the caller's usual AWS credentials. */
export const awsCredentialSources: CredentialSources = {
  async readSecret(secretId, region) {
    const client = new SecretsManagerClient({ region });
    try {
      const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      return SecretString;
    } catch (error) {
      // A secret created without a value has no AWSCURRENT version yet: the same as empty.
      if ((error as { name?: string }).name === 'ResourceNotFoundException' && /value|staging label/i.test((error as Error).message))
        return undefined;
      throw error;
    } finally {
      client.destroy();
    }
  },
  async secretName(stack) {
    return (await readStackOutputs(stack.name, stack.region))('ApiCredentialsSecretName');
  },
};

export interface BackfillTarget {
  /** `local stack (…)` or `stack NAME`. */
  description: string;
  queueUrl: string;
  bucket: string;
  /** Puts a synchronous answer on the webhook's queue (sqsEnqueue: claim check when large). */
  enqueue: (delivery: Delivery) => Promise<void>;
  /** The tables, for `--wait` (the tracker). */
  tables: TableTarget;
  close(): void;
}

function withQueue(tables: TableTarget, sqs: SQSClient, queueUrl: string, bucket: string, description: string): BackfillTarget {
  return {
    description,
    queueUrl,
    bucket,
    enqueue: sqsEnqueue(sqs, queueUrl, { bucket, client: async () => tables.s3 }),
    tables,
    close() {
      sqs.destroy();
      tables.documentClient.destroy();
      tables.s3.destroy();
    },
  };
}

/** The local stack of `npm start` (SQS and S3 on $SQS_PORT, DynamoDB on $DYNAMODB_PORT). */
export async function openLocalTarget(env: NodeJS.ProcessEnv): Promise<BackfillTarget> {
  const tables = localTarget(env);
  const sqs = new SQSClient({ endpoint: `http://127.0.0.1:${env.SQS_PORT || 9324}`, region: localRegion, credentials: localCredentials });
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueSettings.localName }));
    return withQueue(tables, sqs, QueueUrl!, payloadBucket.localName, tables.description);
  } catch (error) {
    sqs.destroy();
    tables.documentClient.destroy();
    tables.s3.destroy();
    throw error;
  }
}

/** A deployed stack: queue and bucket from its outputs `QueueUrl` and `PayloadBucketName`. */
export async function openStackTarget(stack: StackRef): Promise<BackfillTarget> {
  const output = await readStackOutputs(stack.name, stack.region);
  const tables = await deployedTarget(stack.name, stack.region);
  const sqs = new SQSClient({ region: stack.region });
  return withQueue(tables, sqs, output('QueueUrl'), output('PayloadBucketName'), tables.description);
}

export function openTarget(env: NodeJS.ProcessEnv, stack: StackRef | undefined): Promise<BackfillTarget> {
  return stack ? openStackTarget(stack) : openLocalTarget(env);
}
