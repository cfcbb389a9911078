import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { terraHeaders } from '../shared/definitions';
import type { Delivery } from '../shared/delivery';
import { errorResponse, jsonResponse } from '../shared/http';
import type { Logger } from '../shared/logger';
import { type SignatureFailure, verifySignature } from '../shared/signature';

/**
 * The whole ingest path: verify Terra's signature, enqueue the untouched body with its delivery
 * metadata, answer. No parsing, no validation, no storage: everything else is the consumer's job.
 */

export interface IngestDependencies {
  /**
   * The accepted signing secrets (current and, during rotation, previous); `fresh` bypasses the
   * cache, so a secret rotated a moment ago verifies without waiting for the cache to expire.
   */
  signingSecrets: (fresh?: boolean) => Promise<readonly string[]>;
  /** Resolves once the delivery is durably enqueued; rejects otherwise. */
  enqueue: (delivery: Delivery) => Promise<void>;
  toleranceSeconds: number;
  now: () => number;
  logger: Logger;
}

const signatureMessages: Record<SignatureFailure, string> = {
  signature_missing: 'The terra-signature header is missing.',
  signature_malformed: 'The terra-signature header is not of the form t=<unix seconds>,v1=<hex>.',
  signature_expired: 'The signature timestamp is outside the accepted window; check the clock or resend.',
  signature_mismatch: 'No v1 signature matches the body with any configured signing secret.',
};

export function headerValue(headers: APIGatewayProxyEventV2['headers'], name: string): string | undefined {
  // API Gateway v2 lower-cases header names; other callers may not.
  const direct = headers[name];
  if (direct !== undefined) return direct;
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

function signatureHeaderOf(headers: APIGatewayProxyEventV2['headers']): string | undefined {
  for (const name of terraHeaders.signature) {
    const value = headerValue(headers, name);
    if (value !== undefined) return value;
  }
  return undefined;
}

/**
 * `x-terra-ordering-timestamp` is not covered by the signature. A value later than the signature
 * window allows is ignored, so a replayed request with a forged far-future value cannot pin a
 * record against every newer copy.
 */
function parseOrderingTimestamp(value: string | undefined, signatureTimestamp: number, toleranceSeconds: number): number | undefined {
  if (value === undefined || !/^\d{1,16}$/.test(value.trim())) return undefined;
  const orderingTimestamp = Number(value.trim());
  return orderingTimestamp > (signatureTimestamp + toleranceSeconds) * 1000 ? undefined : orderingTimestamp;
}

export function rawBodyOf(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Buffer {
  if (event.body === undefined || event.body === null) return Buffer.alloc(0);
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : Buffer.from(event.body, 'utf8');
}

const freshReadIntervalMs = 60_000;

export function createWebhookHandler(deps: IngestDependencies) {
  // A mismatch may mean the secret was just rotated: read it afresh, but at most once a minute,
  // so unauthenticated traffic cannot drive calls to Secrets Manager.
  let lastFreshReadMs = -Infinity;
  const loadSecrets = async (fresh: boolean): Promise<readonly string[]> => {
    try {
      return await deps.signingSecrets(fresh);
    } catch (error) {
      deps.logger.error('signing secrets unavailable', { error: (error as Error).message });
      return [];
    }
  };

  return async function acceptWebhook(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const nowMs = deps.now();
    let secrets = await loadSecrets(false);
    if (secrets.length === 0) {
      // 503, not 401: Terra retries, so nothing is lost while the operator sets the secret.
      return errorResponse(503, 'signing_secret_unavailable', 'No signing secret is configured yet; Terra will retry.');
    }

    const body = rawBodyOf(event);
    const header = signatureHeaderOf(event.headers);
    const verify = () =>
      verifySignature(header, body, { secrets, toleranceSeconds: deps.toleranceSeconds, nowSeconds: Math.floor(nowMs / 1000) });
    let verdict = verify();
    if (!verdict.valid && verdict.reason === 'signature_mismatch' && nowMs - lastFreshReadMs >= freshReadIntervalMs) {
      lastFreshReadMs = nowMs;
      const fresh = await loadSecrets(true);
      if (fresh.length > 0) {
        secrets = fresh;
        verdict = verify();
      }
    }
    if (!verdict.valid) {
      deps.logger.warn('webhook rejected', { reason: verdict.reason, sourceIp: event.requestContext?.http?.sourceIp });
      return errorResponse(401, verdict.reason, signatureMessages[verdict.reason]);
    }

    const delivery: Delivery = {
      body,
      signatureTimestamp: verdict.timestamp,
      orderingTimestamp: parseOrderingTimestamp(
        headerValue(event.headers, terraHeaders.orderingTimestamp),
        verdict.timestamp,
        deps.toleranceSeconds,
      ),
      terraReference: headerValue(event.headers, terraHeaders.reference),
      traceId: headerValue(event.headers, terraHeaders.traceId),
      receivedAt: new Date(nowMs).toISOString(),
    };
    try {
      await deps.enqueue(delivery);
    } catch (error) {
      deps.logger.error('enqueue failed', { error: (error as Error).message, traceId: delivery.traceId });
      return errorResponse(503, 'queue_unavailable', 'The delivery could not be queued; Terra will retry.');
    }
    return jsonResponse(200, { status: 'accepted' });
  };
}
