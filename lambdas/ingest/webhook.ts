import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { observability, terraHeaders } from '../shared/definitions';
import { bodyBytes, type Delivery } from '../shared/delivery';
import { errorResponse, jsonResponse } from '../shared/http';
import { webhookOrderingTimestamp } from '../shared/ordering';
import { type Logger, withKeys } from '../shared/logger';
import { type SignatureFailure, verifySignature } from '../shared/signature';
import type { SourceIpAllowlist } from '../shared/source-ips';
import { type IngestMetrics, noIngestMetrics, type RejectionReason } from './metrics';
import type { EnqueueReceipt } from './queue';

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
  /** Resolves once the delivery is durably enqueued (with the message id, when known); rejects otherwise. */
  // biome-ignore lint/suspicious/noConfusingVoidType: an enqueue that resolves with nothing (an `async` function with no `return`) is accepted and counted as not claim-checked; `| undefined` would refuse it.
  enqueue: (delivery: Delivery) => Promise<EnqueueReceipt | void>;
  toleranceSeconds: number;
  now: () => number;
  logger: Logger;
  /** What each request came to (one EMF line per request in AWS); nothing is counted unless given. */
  metrics?: IngestMetrics;
  /** `ALLOWED_SOURCE_IPS`, parsed: other addresses are refused before anything else. Off unless given. */
  allowedSourceIps?: SourceIpAllowlist;
  /** The trace id of a delivery Terra sent without one; crypto.randomUUID unless given. */
  newTraceId?: () => string;
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
 * The body as Terra sent it: bytes when API Gateway base64-encoded it, else its text, whose UTF-8
 * encoding is the body (the signature covers those bytes, and createHmac encodes text the same way).
 */
export function rawBodyOf(event: Pick<APIGatewayProxyEventV2, 'body' | 'isBase64Encoded'>): Buffer | string {
  if (event.body === undefined || event.body === null) return '';
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64') : event.body;
}

const freshReadIntervalMs = 60_000;

/**
 * How long a failed secret lookup (the secret not set yet, or Secrets Manager unreachable) is
 * remembered. Nothing is cached on failure otherwise, so every request, forged ones included,
 * would make its own GetSecretValue call: this keeps it to one per 5 s per container, and delays
 * a secret set a moment ago by at most as long (Terra retries minutes later anyway).
 */
export const secretFailureMemoryMs = 5_000;

const { logKeys } = observability;

export function createWebhookHandler(deps: IngestDependencies) {
  const metrics = deps.metrics ?? noIngestMetrics;
  const newTraceId = deps.newTraceId ?? randomUUID;
  // A mismatch may mean the secret was just rotated: read it afresh, but at most once a minute,
  // so unauthenticated traffic cannot drive calls to Secrets Manager.
  let lastFreshReadMs = -Infinity;
  let unavailableUntilMs = -Infinity;
  const loadSecrets = async (fresh: boolean, nowMs: number, log: Logger): Promise<readonly string[]> => {
    if (!fresh && nowMs < unavailableUntilMs) return [];
    let secrets: readonly string[] = [];
    try {
      secrets = await deps.signingSecrets(fresh);
    } catch (error) {
      log.error('signing secrets unavailable', { error: (error as Error).message });
    }
    if (secrets.length === 0 && !fresh) unavailableUntilMs = nowMs + secretFailureMemoryMs;
    return secrets;
  };

  return async function acceptWebhook(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const nowMs = deps.now();
    const terraReference = headerValue(event.headers, terraHeaders.reference);
    // Terra's id, else one of ours: it travels in the message, so the consumer's lines carry it too.
    const traceId = headerValue(event.headers, terraHeaders.traceId) || newTraceId();
    const log = withKeys(deps.logger, { [logKeys.traceId]: traceId, [logKeys.terraReference]: terraReference });
    const sourceIp = event.requestContext?.http?.sourceIp;
    const reject = (statusCode: number, reason: RejectionReason, message: string) => {
      metrics.publish({ outcome: 'rejected', reason });
      log.warn('webhook rejected', { reason, source_ip: sourceIp });
      return errorResponse(statusCode, reason, message);
    };

    // Before the secret is read: traffic from elsewhere costs no Secrets Manager call.
    if (deps.allowedSourceIps && !deps.allowedSourceIps.allows(sourceIp)) {
      return reject(403, 'source_ip_not_allowed', 'Requests are accepted only from the configured source addresses.');
    }
    let secrets = await loadSecrets(false, nowMs, log);
    if (secrets.length === 0) {
      // 503, not 401: Terra retries, so nothing is lost while the operator sets the secret.
      return reject(503, 'signing_secret_unavailable', 'No signing secret is configured yet; Terra will retry.');
    }

    const body = rawBodyOf(event);
    const header = signatureHeaderOf(event.headers);
    const verify = () =>
      verifySignature(header, body, { secrets, toleranceSeconds: deps.toleranceSeconds, nowSeconds: Math.floor(nowMs / 1000) });
    let verdict = verify();
    if (!verdict.valid && verdict.reason === 'signature_mismatch' && nowMs - lastFreshReadMs >= freshReadIntervalMs) {
      lastFreshReadMs = nowMs;
      const fresh = await loadSecrets(true, nowMs, log);
      if (fresh.length > 0) {
        secrets = fresh;
        verdict = verify();
      }
    }
    if (!verdict.valid) return reject(401, verdict.reason, signatureMessages[verdict.reason]);

    const delivery: Delivery = {
      body,
      signatureTimestamp: verdict.timestamp,
      orderingTimestamp: webhookOrderingTimestamp(
        headerValue(event.headers, terraHeaders.orderingTimestamp),
        verdict.timestamp,
        deps.toleranceSeconds,
      ),
      terraReference,
      traceId,
      receivedAt: new Date(nowMs).toISOString(),
    };
    let receipt: EnqueueReceipt | undefined;
    try {
      receipt = (await deps.enqueue(delivery)) ?? undefined;
    } catch (error) {
      metrics.publish({ outcome: 'enqueue_failed' });
      log.error('enqueue failed', { error: (error as Error).message });
      return errorResponse(503, 'queue_unavailable', 'The delivery could not be queued; Terra will retry.');
    }
    const claimChecked = receipt?.claimChecked ?? false;
    const bytes = receipt?.bodyBytes ?? bodyBytes(body);
    metrics.publish({ outcome: 'accepted', bodyBytes: bytes, claimChecked });
    // The line a Logs Insights query joins the consumer's lines on (trace_id, sqs_message_id).
    log.info('delivery accepted', { [logKeys.messageId]: receipt?.messageId, body_bytes: bytes, claim_checked: claimChecked });
    return jsonResponse(200, { status: 'accepted' });
  };
}
