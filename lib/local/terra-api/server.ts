import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { terraApi } from '../../../lambdas/shared/definitions';
import type { Logger } from '../../../lambdas/shared/logger';
import { createDeliverer } from './deliver';
import { type Answer, type HandlerConfig, handleFaults, handleHistory, newHandlerState, problem } from './handlers';

/**
 * A local stand-in of Terra's REST API for history (docs/terra.md §7) — not Terra. It lets
 * the backfill path (request → DataSentToWebhook → large_request_* → chunks) run end to end on
 * one machine. Users are not registered: any `user_id` is a Withings connection whose history is
 * generated from the id (the simulator's fixtures, deterministic by user id and day; days from
 * today, UTC, on have no data yet).
 *
 * API (base URL printed by `npm start`, default http://127.0.0.1:3001):
 * - `GET /activity|/body|/daily|/sleep|/menstruation|/nutrition?user_id=&start_date=&end_date=&to_webhook=&with_samples=`
 *   with headers `dev-id` and `x-api-key` (any non-empty values unless the stand-in was given
 *   credentials; missing → 401). `start_date` required, `end_date` exclusive (default today + 1),
 *   both `YYYY-MM-DD` or unix seconds; `to_webhook` defaults to true; `with_samples` to false
 *   (detailed `*_samples` arrays come back empty). Bad parameters → 400 naming the parameter;
 *   over 1,825 days → 400; over 6,000 requested days per user in a rolling hour → 429 with
 *   `Retry-After` and `X-Terra-RateLimit-Limit/-Remaining/-Reset` (seconds).
 *   - `to_webhook=false` and ≤ 28 days: 200 `{user, data, type}`.
 *   - otherwise 200 `DataSentToWebhook` `{status, type, reference, trace_id, message?, user}` and
 *     header `terra-reference`; then, in the background, signed POSTs to the webhook: ≤ 31 days,
 *     one data event; over 31 days, `large_request_processing`, `large_request_sending`
 *     (`expected_payloads` = N), then N chunks (7 days of data each), each announcement
 *     acknowledged before the next event is sent. Every event carries `terra-reference`,
 *     `x-terra-trace-id` (`<reference>` or `<reference>:chunk:<n>`) and `x-terra-ordering-timestamp`.
 * - `GET /athlete?user_id=&to_webhook=`: the profile, `{athlete, type, user}` or through the webhook.
 * - Errors are RFC 9457 `application/problem+json` `{type, title, instance, detail}`.
 * Test hooks (stand-in only, no auth):
 * - `POST /_stand-in/faults` `{"status": 429, "count": 1, "retryAfterSeconds": 1}`: the next
 *   `count` data requests answer `status` (429 with the rate-limit headers); `{"shuffleChunks": true}`:
 *   chunks go out in a seeded random order; `{}` clears both. Answers the current settings.
 */

export interface TerraApiStandInOptions {
  /** 0 picks a free port. */
  port: number;
  host?: string;
  /** Where `to_webhook` deliveries go, and the secret they are signed with. */
  webhookUrl: string;
  signingSecret: string;
  logger: Logger;
  credentials?: HandlerConfig['credentials'];
  userDaysPerHour?: number;
  requestMaxDays?: number;
  now?: () => number;
  retryPausesMs?: readonly number[];
}

export interface TerraApiStandIn {
  url: string;
  port: number;
  /** Resolves when every delivery started so far is done. */
  settle(): Promise<void>;
  /** Stops accepting requests, then waits for deliveries in flight. */
  stop(): Promise<void>;
}

/** Terra chunks "over a month"; 31 days keeps every calendar month in one event. */
const largeRequestMinDays = 31;
const chunkDays = 7;
const maxControlBodyBytes = 64 * 1024;

const dataPaths = new Set(terraApi.types.map((type) => `/${type}`));

function write(response: ServerResponse, answer: Answer) {
  const body = JSON.stringify(answer.body);
  response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxControlBodyBytes) throw new Error('body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text.trim() === '' ? {} : JSON.parse(text);
}

export async function startTerraApiStandIn(options: TerraApiStandInOptions): Promise<TerraApiStandIn> {
  const now = options.now ?? Date.now;
  const config: HandlerConfig = {
    credentials: options.credentials,
    userDaysPerHour: options.userDaysPerHour ?? terraApi.userDaysPerHour,
    requestMaxDays: options.requestMaxDays ?? terraApi.requestMaxDays,
    synchronousMaxDays: terraApi.synchronousMaxDays,
    largeRequestMinDays,
    chunkDays,
  };
  const state = newHandlerState();
  const deliverer = createDeliverer({
    webhookUrl: options.webhookUrl,
    signingSecret: options.signingSecret,
    logger: options.logger,
    now,
    retryPausesMs: options.retryPausesMs,
  });

  const route = async (request: IncomingMessage): Promise<Answer> => {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    if (path === '/_stand-in/faults') {
      if (request.method !== 'POST') return problem(405, path, 'use POST');
      let body: unknown;
      try {
        body = await readJson(request);
      } catch (error) {
        return problem(400, path, `the body must be JSON: ${(error as Error).message}`);
      }
      return handleFaults(body, state);
    }
    if (!dataPaths.has(path)) return problem(404, path, `no such endpoint: ${request.method} ${path}`);
    if (request.method !== 'GET') return problem(405, path, 'use GET');
    const headers: Record<string, string | undefined> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = Array.isArray(value) ? value[0] : value;
    return handleHistory({ path, query: url.searchParams, headers }, config, state, now());
  };

  const server = createServer((request, response) => {
    route(request)
      .then((answer) => {
        write(response, answer);
        // The answer goes first: the data follows, as from Terra, after the request returned.
        if (answer.job) deliverer.enqueue(answer.job);
      })
      .catch((error) => {
        options.logger.error('Terra API stand-in failed', { error: String(error) });
        if (!response.headersSent) write(response, problem(500, request.url ?? '/', String(error)));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    settle: () => deliverer.settle(),
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await deliverer.settle();
    },
  };
}
