import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSecretList, signatureHeader } from '../../lambdas/shared/signature';
import { DEFAULT_SEED, type Delivery, type ScenarioUserKey, simulationScenario } from './fixtures';

/**
 * `npm run simulate`: posts the fixture scenario to a running receiver exactly as Terra would,
 * signed with the receiver's secret. Everything with a side effect comes in through `deps`.
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
    const result: DeliveryResult = { name: delivery.name, type: delivery.body.type, bytes: Buffer.byteLength(raw), status: null, ok: false, latencyMs: 0 };
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

export interface SimulateArgs {
  url: string;
  secret?: string;
  seed: string;
  help: boolean;
}

export function parseSimulateArgs(argv: readonly string[], env: Record<string, string | undefined>): SimulateArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    url: values.url ?? `http://127.0.0.1:${env.PORT || 3000}/webhook`,
    secret: values.secret,
    seed: values.seed ?? DEFAULT_SEED,
    help: values.help ?? false,
  };
}

export const usage = `Usage: npm run simulate [-- --url URL] [--secret SECRET] [--seed SEED]

Posts a signed set of Terra webhooks (auth for Dexcom, Xert, Xoss and Withings users, a CGM day,
activities, Withings body/daily/sleep, a deauth) to a running receiver.

  --url     receiver endpoint (default http://127.0.0.1:\${PORT:-3000}/webhook)
  --secret  signing secret (default: first of TERRA_SIGNING_SECRET, else
            \${LOCAL_DATA_DIR:-.local}/signing-secret written by npm start)
  --seed    fixture seed; the same seed gives the same user and record ids (default ${DEFAULT_SEED})`;

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

  deps.write('Users:');
  for (const [key, user] of Object.entries(scenario.users) as [ScenarioUserKey, (typeof scenario.users)[ScenarioUserKey]][]) {
    const note = key === 'throwaway' ? '  (deauthorised at the end)' : '';
    deps.write(`  ${key.padEnd(10)} ${user.provider.padEnd(9)} ${user.user_id}${note}`);
  }
  deps.write(`Inspect one: npm run inspect -- <user_id>   e.g. npm run inspect -- ${scenario.userIds.dexcom}`);
  return failed.length === 0 ? 0 : 1;
}
