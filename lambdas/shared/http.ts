import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** Stable, machine-readable error codes of the webhook endpoint (documented in the README). */
export type ErrorCode =
  | 'signature_missing'
  | 'signature_malformed'
  | 'signature_expired'
  | 'signature_mismatch'
  | 'signing_secret_unavailable'
  | 'source_ip_not_allowed'
  | 'queue_unavailable'
  | 'payload_too_large'
  | 'not_found'
  | 'method_not_allowed'
  | 'internal_error';

const jsonHeaders = { 'content-type': 'application/json' };

export function jsonResponse(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: jsonHeaders, body: JSON.stringify(body) };
}

export function errorResponse(statusCode: number, code: ErrorCode, message: string): APIGatewayProxyStructuredResultV2 {
  return jsonResponse(statusCode, { error: { code, message } });
}
