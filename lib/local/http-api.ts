import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { limits } from '../../lambdas/shared/definitions';
import { type ErrorCode, errorResponse } from '../../lambdas/shared/http';

/**
 * A stand-in for API Gateway's HTTP API in front of the ingest function: it turns each request
 * into a real payload-format-2.0 event and enforces the limits AWS would (10 MB body at API
 * Gateway, 6 MB invocation payload at Lambda).
 */

export type ApiHandler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;

export interface HttpApiOptions {
  port: number;
  host?: string;
  webhook: ApiHandler;
  health: () => Promise<{ healthy: boolean; detail: Record<string, unknown> }>;
}

export interface RunningHttpApi {
  url: string;
  port: number;
  server: Server;
  stop(): Promise<void>;
}

// API Gateway passes these as text; anything else arrives base64-encoded.
const textContentType = /^(text\/|application\/(json|[\w.+-]+\+json|x-www-form-urlencoded|xml|javascript))/i;

export function toApiGatewayEvent(request: IncomingMessage, body: Buffer, now = Date.now()): APIGatewayProxyEventV2 {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(',') : value;
  }
  const isText = textContentType.test(headers['content-type'] ?? '');
  return {
    version: '2.0',
    routeKey: `${request.method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    queryStringParameters: url.search ? Object.fromEntries(url.searchParams) : undefined,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: crypto.randomUUID(),
      routeKey: `${request.method} ${url.pathname}`,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: body.length === 0 ? undefined : isText ? body.toString('utf8') : body.toString('base64'),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

class BodyTooLarge extends Error {}

// Below this, even base64 (4/3) plus headers stays under Lambda's 6 MB.
const nearLambdaLimitBytes = 4 * 1024 * 1024;

function readBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new BodyTooLarge());
        request.resume();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function send(response: ServerResponse, result: APIGatewayProxyStructuredResultV2): void {
  const body = result.body ?? '';
  response.writeHead(result.statusCode ?? 200, {
    ...(result.headers as Record<string, string>),
    'content-length': Buffer.byteLength(body, result.isBase64Encoded ? 'base64' : 'utf8'),
  });
  response.end(result.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

const fail = (status: number, code: ErrorCode, message: string) => errorResponse(status, code, message);

export async function startHttpApi(options: HttpApiOptions): Promise<RunningHttpApi> {
  const server = createServer(async (request, response) => {
    try {
      const path = new URL(request.url ?? '/', 'http://localhost').pathname;
      if (path === '/health') {
        if (request.method !== 'GET') return send(response, fail(405, 'method_not_allowed', 'Use GET /health.'));
        const { healthy, detail } = await options.health();
        return send(response, {
          statusCode: healthy ? 200 : 503,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ status: healthy ? 'ok' : 'degraded', ...detail }),
        });
      }
      if (path !== '/webhook') return send(response, fail(404, 'not_found', 'Terra webhooks go to POST /webhook.'));
      if (request.method !== 'POST') return send(response, fail(405, 'method_not_allowed', 'Use POST /webhook.'));

      const body = await readBody(request, limits.apiGatewayBodyBytes);
      const event = toApiGatewayEvent(request, body);
      // Only a body near the limit can push the event over it; skip the measurement otherwise.
      if (body.length > nearLambdaLimitBytes && Buffer.byteLength(JSON.stringify(event)) > limits.lambdaSyncPayloadBytes) {
        return send(
          response,
          fail(
            413,
            'payload_too_large',
            "The request exceeds Lambda's 6 MB invocation limit; use Terra's Ping mode (s3_payload) for large payloads.",
          ),
        );
      }
      send(response, await options.webhook(event));
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        response.setHeader('connection', 'close');
        return send(response, fail(413, 'payload_too_large', "The request body exceeds API Gateway's 10 MB limit."));
      }
      // Mirrors Lambda: an unhandled failure is a bare 500, never a stack trace.
      send(response, fail(500, 'internal_error', "Internal error; see the local stack's log."));
      console.error('local API: unhandled error', error);
    }
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
