import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { GetQueueUrlCommand, SQSClient } from '@aws-sdk/client-sqs';
import { destinations } from '../../lambdas/shared/definitions';
import { parseSecretList, signatureHeader } from '../../lambdas/shared/signature';
import { localCredentials, localRegion } from '../local/emulators';
import { DEFAULT_SEED, type Delivery, type ScenarioUserKey, simulationScenario } from './fixtures';
import { type DestinationTarget, pingStandInBucket, sendThroughS3, sendThroughSqs } from './simulate-destinations';

/**
 * `npm run simulate`: sends the fixture scenario to a running receiver exactly as Terra would,
 * through one of Terra's doors: the webhook (signed with the receiver's secret), Terra's SQS
 * destination (Ping mode) or its S3 destination. Everything with a side effect comes in through `deps`.
 */

export interface SimulateDeps {
  fetch: typeof fetch;
  /** Epoch milliseconds: signature time, ordering timestamps and latencies. */
  now: () => number;
  uuid: () => string;
  write: (line: string) => void;
}

export interface CliDeps extends SimulateDeps {
  env: Record<string, string | undefined>;
  /** Contents of a file, or undefined when it does not exist. */
  readFile: (path: string) => string | undefined;
}

export interface DeliveryResult {
  name: string;
  type: string;
  bytes: number;
  /** HTTP status, or null when no response came back. */
  status: number | null;
  ok: boolean;
  latencyMs: number;
  /** Network error, or the start of a non-2xx response body. */
  detail?: string;
}

export interface SendOptions {
  url: string;
  secret: string;
  timeoutMs?: number;
}

/** Posts each delivery in order (auth must land before data) and reports one line per delivery. */
export async function sendDeliveries(deliveries: readonly Delivery[], options: SendOptions, deps: SimulateDeps): Promise<DeliveryResult[]> {
  const results: DeliveryResult[] = [];
  let lastOrdering = 0;
  for (const delivery of deliveries) {
    // The signature covers these exact bytes, so the body is serialised once and sent as is.
    const raw = JSON.stringify(delivery.body);
    const sentAt = deps.now();
    // Strictly increasing even within one millisecond: a later delivery is a newer copy.
    lastOrdering = Math.max(sentAt, lastOrdering + 1);
    const headers = {
      'content-type': 'application/json',
      'terra-signature': signatureHeader(options.secret, raw, Math.floor(sentAt / 1000)),
      'x-terra-ordering-timestamp': String(lastOrdering),
      'terra-reference': deps.uuid(),
      'x-terra-trace-id': deps.uuid(),
    };
    const result: DeliveryResult = {
      name: delivery.name,
      type: delivery.body.type,
      bytes: Buffer.byteLength(raw),
      status: null,
      ok: false,
      latencyMs: 0,
    };
    try {
      const response = await deps.fetch(options.url, {
        method: 'POST',
        headers,
        body: raw,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
      const text = await response.text();
      result.status = response.status;
      result.ok = response.status >= 200 && response.status < 300;
      if (!result.ok) result.detail = text.replace(/\s+/g, ' ').slice(0, 200);
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
      result.detail = `${error instanceof Error ? error.message : String(error)}${cause}`;
    }
    result.latencyMs = deps.now() - sentAt;
    deps.write(formatResult(result));
    results.push(result);
  }
  return results;
}

export function formatResult(result: DeliveryResult): string {
  const kb = `${(result.bytes / 1024).toFixed(1)} KB`;
  const line = [
    result.ok ? '  ok  ' : '  FAIL',
    result.name.padEnd(24),
    result.type.padEnd(10),
    kb.padStart(10),
    String(result.status ?? '---').padStart(5),
    `${result.latencyMs} ms`.padStart(9),
  ].join(' ');
  return result.detail ? `${line}  ${result.detail}` : line;
}

export interface SecretSource {
  secret: string;
  source: string;
}

/** `--secret`, else the first of `TERRA_SIGNING_SECRET`, else the dev secret the local stack wrote. */
export function resolveSigningSecret(flag: string | undefined, deps: Pick<CliDeps, 'env' | 'readFile'>): SecretSource | undefined {
  if (flag !== undefined && flag.trim() !== '') return { secret: flag.trim(), source: '--secret' };
  const [fromEnv] = parseSecretList(deps.env.TERRA_SIGNING_SECRET);
  if (fromEnv) return { secret: fromEnv, source: 'TERRA_SIGNING_SECRET' };
  const path = join(deps.env.LOCAL_DATA_DIR || '.local', 'signing-secret');
  const fromFile = deps.readFile(path)?.trim();
  if (fromFile) return { secret: fromFile, source: path };
  return undefined;
}

/** Terra's doors into the receiver (docs/terra.md §10). */
export const vias = ['webhook', 'sqs', 's3'] as const;
export type Via = (typeof vias)[number];

export interface SimulateArgs {
  via: Via;
  url: string;
  secret?: string;
  seed: string;
  help: boolean;
}

export function parseSimulateArgs(argv: readonly string[], env: Record<string, string | undefined>): SimulateArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      via: { type: 'string' },
      url: { type: 'string' },
      secret: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  const via = values.via ?? 'webhook';
  if (!(vias as readonly string[]).includes(via)) throw new Error(`--via must be one of ${vias.join(', ')}; got '${via}'`);
  return {
    via: via as Via,
    url: values.url ?? `http://127.0.0.1:${env.PORT || 3000}/webhook`,
    secret: values.secret,
    seed: values.seed ?? DEFAULT_SEED,
    help: values.help ?? false,
  };
}

export const usage = `Usage: npm run simulate [-- --via webhook|sqs|s3] [--url URL] [--secret SECRET] [--seed SEED]

Sends a set of Terra events (auth for Dexcom, Xert, Xoss and Withings users, a CGM day,
activities, Withings body/daily/sleep, a Withings athlete profile, a deauth) to a running
receiver, through one of Terra's doors:

  --via     webhook (default): signed POSTs to --url, as Terra's webhook destination sends them.
            sqs: Terra's SQS destination in Ping mode: each event is put in a stand-in for
                 Terra's bucket (${pingStandInBucket}), and an s3_payload message with its URL
                 is sent to the queue ${destinations.queue.localName}.
            s3:  Terra's S3 destination: each event is written whole into the bucket
                 ${destinations.bucket.localName} under Terra's key layout
                 (<api version>/<type>/<user_id>-<start_time>.json for data,
                 <type>/<user_id>-<timestamp>.json for the rest).
            sqs and s3 use the local stack's SQS/S3 server (http://127.0.0.1:\${SQS_PORT:-9324})
            and need no signing secret; --url and --secret apply to webhook only.
  --url     receiver endpoint (default http://127.0.0.1:\${PORT:-3000}/webhook)
  --secret  signing secret (default: first of TERRA_SIGNING_SECRET, else
            \${LOCAL_DATA_DIR:-.local}/signing-secret written by npm start)
  --seed    fixture seed; the same seed gives the same user and record ids (default ${DEFAULT_SEED})`;

/** Terra's destinations on the local stack's SQS/S3 server; throws a sentence a person can act on. */
async function localDestinations(env: Record<string, string | undefined>): Promise<DestinationTarget & { close(): void }> {
  const endpoint = `http://127.0.0.1:${env.SQS_PORT || 9324}`;
  const config = { endpoint, region: localRegion, credentials: localCredentials };
  const sqs = new SQSClient(config);
  const s3 = new S3Client({ ...config, forcePathStyle: true });
  const close = () => {
    sqs.destroy();
    s3.destroy();
  };
  try {
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: destinations.queue.localName }));
    return { sqs, s3, endpoint, queueUrl: QueueUrl!, bucket: destinations.bucket.localName, close };
  } catch (error) {
    close();
    const name = (error as Error).name;
    if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue') {
      throw new Error(
        `No queue ${destinations.queue.localName} at ${endpoint}: restart the local stack (npm start), which creates Terra's destinations.`,
      );
    }
    throw new Error(
      `Nothing answered at ${endpoint} (${(error as Error).message || name}): is the local stack running (npm start)? Set SQS_PORT if it listens elsewhere.`,
    );
  }
}

/** `--via sqs|s3`: the scenario through one of Terra's AWS destinations; returns the exit code. */
async function simulateDestination(via: 'sqs' | 's3', deliveries: readonly Delivery[], deps: CliDeps): Promise<number> {
  let target: Awaited<ReturnType<typeof localDestinations>>;
  try {
    target = await localDestinations(deps.env);
  } catch (error) {
    deps.write((error as Error).message);
    return 1;
  }
  try {
    deps.write(
      via === 's3'
        ? `Writing ${deliveries.length} Terra events into the S3 destination bucket ${target.bucket} at ${target.endpoint}`
        : `Sending ${deliveries.length} Terra events to the SQS destination ${target.queueUrl} (Ping mode, payloads in ${pingStandInBucket})`,
    );
    const started = deps.now();
    const results = await (via === 's3' ? sendThroughS3 : sendThroughSqs)(deliveries, target, deps);
    const failed = results.filter((result) => !result.ok).length;
    const megabytes = results.reduce((sum, result) => sum + result.bytes, 0) / 1024 / 1024;
    deps.write(
      `${results.length} events: ${results.length - failed} sent, ${failed} failed, ${megabytes.toFixed(2)} MB in ${deps.now() - started} ms`,
    );
    return failed === 0 ? 0 : 1;
  } catch (error) {
    deps.write(`Sending through the ${via === 's3' ? 'S3' : 'SQS'} destination failed: ${(error as Error).message}`);
    return 1;
  } finally {
    target.close();
  }
}

/** The whole CLI; returns the exit code. */
export async function runSimulateCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let args: SimulateArgs;
  try {
    args = parseSimulateArgs(argv, deps.env);
  } catch (error) {
    deps.write(`${error instanceof Error ? error.message : String(error)}\n\n${usage}`);
    return 1;
  }
  if (args.help) {
    deps.write(usage);
    return 0;
  }
  if (args.via !== 'webhook') {
    const scenario = simulationScenario({ now: deps.now(), seed: args.seed });
    const code = await simulateDestination(args.via, scenario.deliveries, deps);
    if (code === 0) writeUsers(scenario, deps);
    return code;
  }
  const secret = resolveSigningSecret(args.secret, deps);
  if (!secret) {
    deps.write(
      'No signing secret: pass --secret, set TERRA_SIGNING_SECRET, or start the local stack (npm start), ' +
        `which writes ${join(deps.env.LOCAL_DATA_DIR || '.local', 'signing-secret')}.`,
    );
    return 1;
  }

  const scenario = simulationScenario({ now: deps.now(), seed: args.seed });
  deps.write(`Sending ${scenario.deliveries.length} Terra webhooks to ${args.url} (secret from ${secret.source})`);
  const started = deps.now();
  const results = await sendDeliveries(scenario.deliveries, { url: args.url, secret: secret.secret }, deps);
  const failed = results.filter((result) => !result.ok);
  const megabytes = results.reduce((sum, result) => sum + result.bytes, 0) / 1024 / 1024;
  deps.write(
    `${results.length} deliveries: ${results.length - failed.length} accepted, ${failed.length} failed, ` +
      `${megabytes.toFixed(2)} MB in ${deps.now() - started} ms`,
  );
  if (failed.length > 0 && failed.every((result) => result.status === null)) {
    deps.write(`Nothing answered at ${args.url}: is the receiver running (npm start)?`);
  }

  writeUsers(scenario, deps);
  return failed.length === 0 ? 0 : 1;
}

function writeUsers(scenario: ReturnType<typeof simulationScenario>, deps: Pick<CliDeps, 'write'>): void {
  deps.write('Users:');
  for (const [key, user] of Object.entries(scenario.users) as [ScenarioUserKey, (typeof scenario.users)[ScenarioUserKey]][]) {
    const note = key === 'throwaway' ? '  (deauthorised at the end)' : '';
    deps.write(`  ${key.padEnd(10)} ${String(user.provider).padEnd(9)} ${user.user_id}${note}`);
  }
  deps.write(`Inspect one: npm run inspect -- <user_id>   e.g. npm run inspect -- ${scenario.userIds.dexcom}`);
}
