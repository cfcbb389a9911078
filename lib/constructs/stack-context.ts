import type { TerraIngestStackProps } from '../terra-ingest-stack';
import type { SourceIpAllowlistOption } from './source-ip-allowlist';

/** The props `cdk deploy -c name=value` sets (bin/terra-ingest.ts). */
export type ContextProps = Pick<
  TerraIngestStackProps,
  | 'sqsDestination'
  | 's3Destination'
  | 'eraseOnDeauth'
  | 'tracing'
  | 'customerManagedKey'
  | 'sourceIpAllowlist'
  | 'consumerMaxConcurrency'
  | 'recordMapMaxBytes'
  | 'alarmEmail'
>;

/**
 * Reads the props from CDK context: `sqsDestination`, `s3Destination`, `s3DestinationTerraRoleArn`,
 * `eraseOnDeauth`, `tracing`, `customerManagedKey`, `sourceIpAllowlist` (true, false or a
 * comma-separated list), `consumerMaxConcurrency`, `recordMapMaxBytes` and `alarmEmail`. The CLI passes `-c` values as strings; cdk.json
 * may hold booleans, numbers or a list. Anything unexpected throws rather than deploying something
 * other than what the operator asked for.
 */
export function propsFromContext(tryGetContext: (key: string) => unknown): ContextProps {
  const flag = (key: string): boolean => {
    const value = tryGetContext(key);
    if (value === undefined || value === false || value === 'false') return false;
    if (value === true || value === 'true') return true;
    throw new Error(`context ${key} must be true or false; got ${JSON.stringify(value)}`);
  };
  const terraRoleArn = tryGetContext('s3DestinationTerraRoleArn');
  if (terraRoleArn !== undefined && typeof terraRoleArn !== 'string') {
    throw new Error(`context s3DestinationTerraRoleArn must be a role ARN; got ${JSON.stringify(terraRoleArn)}`);
  }
  const s3 = flag('s3Destination');
  if (terraRoleArn !== undefined && !s3) {
    throw new Error('context s3DestinationTerraRoleArn applies to the S3 destination: add -c s3Destination=true');
  }
  const maxConcurrency = tryGetContext('consumerMaxConcurrency');
  if (maxConcurrency !== undefined && !/^\d+$/.test(String(maxConcurrency))) {
    throw new Error(`context consumerMaxConcurrency must be a whole number; got ${JSON.stringify(maxConcurrency)}`);
  }
  const recordMapMaxBytes = tryGetContext('recordMapMaxBytes');
  if (recordMapMaxBytes !== undefined && !/^\d+$/.test(String(recordMapMaxBytes))) {
    throw new Error(`context recordMapMaxBytes must be a whole number of bytes; got ${JSON.stringify(recordMapMaxBytes)}`);
  }
  const alarmEmail = tryGetContext('alarmEmail');
  if (alarmEmail !== undefined && (typeof alarmEmail !== 'string' || !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail))) {
    throw new Error(`context alarmEmail must be an e-mail address; got ${JSON.stringify(alarmEmail)}`);
  }
  return {
    sqsDestination: flag('sqsDestination'),
    s3Destination: s3 && (terraRoleArn === undefined ? true : { terraRoleArn }),
    eraseOnDeauth: flag('eraseOnDeauth'),
    tracing: flag('tracing'),
    customerManagedKey: flag('customerManagedKey'),
    sourceIpAllowlist: sourceIpAllowlistFromContext(tryGetContext('sourceIpAllowlist')),
    ...(maxConcurrency !== undefined && { consumerMaxConcurrency: Number(maxConcurrency) }),
    ...(recordMapMaxBytes !== undefined && { recordMapMaxBytes: Number(recordMapMaxBytes) }),
    ...(alarmEmail !== undefined && { alarmEmail }),
  };
}

/** `true`/`false`, or addresses: a comma-separated string from the CLI, or a list in cdk.json (checked by the stack). */
function sourceIpAllowlistFromContext(value: unknown): SourceIpAllowlistOption {
  if (value === undefined || value === false || value === 'false') return false;
  if (value === true || value === 'true') return true;
  if (typeof value === 'string') return value.split(',').map((entry) => entry.trim());
  if (Array.isArray(value) && value.every((entry) => typeof entry === 'string')) return value;
  throw new Error(`context sourceIpAllowlist must be true, false or a comma-separated list of addresses; got ${JSON.stringify(value)}`);
}
