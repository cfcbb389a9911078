import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Terra's webhook signature (docs/terra.md §1): header `t=<unix s>,v1=<hex>[,v1=…][,v0=…]`,
 * HMAC-SHA256 over `<t>.<raw body>` keyed by the destination's signing secret.
 */

export type SignatureFailure = 'signature_missing' | 'signature_malformed' | 'signature_expired' | 'signature_mismatch';

export type SignatureResult = { valid: true; timestamp: number } | { valid: false; reason: SignatureFailure; timestamp?: number };

export interface VerifyOptions {
  /** Every accepted secret: the current one and, during a rotation, the previous one. */
  secrets: readonly string[];
  toleranceSeconds: number;
  /** Unix seconds; injected so tests and the freshness check agree on "now". */
  nowSeconds: number;
}

interface ParsedHeader {
  timestamp: number;
  v1: Buffer[];
}

const hexSha256 = /^[0-9a-f]{64}$/i;

export function parseSignatureHeader(header: string): ParsedHeader | undefined {
  let timestamp: number | undefined;
  const v1: Buffer[] = [];
  for (const element of header.split(',')) {
    const separator = element.indexOf('=');
    if (separator < 0) continue;
    const scheme = element.slice(0, separator).trim();
    const value = element.slice(separator + 1).trim();
    if (scheme === 't') {
      if (!/^\d{1,12}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (scheme === 'v1' && hexSha256.test(value)) {
      v1.push(Buffer.from(value, 'hex'));
    }
    // Other schemes (v0, future ones) are ignored, as Terra's SDKs do.
  }
  if (timestamp === undefined || v1.length === 0) return undefined;
  return { timestamp, v1 };
}

export function computeSignature(secret: string, timestamp: number, rawBody: Buffer | string): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
}

export function verifySignature(
  header: string | undefined,
  rawBody: Buffer | string,
  { secrets, toleranceSeconds, nowSeconds }: VerifyOptions,
): SignatureResult {
  if (header === undefined || header.trim() === '') return { valid: false, reason: 'signature_missing' };
  const parsed = parseSignatureHeader(header);
  if (!parsed) return { valid: false, reason: 'signature_malformed' };
  const { timestamp } = parsed;
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) {
    return { valid: false, reason: 'signature_expired', timestamp };
  }
  // Every secret against every v1, without an early exit, so timing reveals neither which
  // secret nor which signature matched.
  let matched = false;
  for (const secret of secrets) {
    const expected = computeSignature(secret, timestamp, rawBody);
    for (const candidate of parsed.v1) {
      if (timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  return matched ? { valid: true, timestamp } : { valid: false, reason: 'signature_mismatch', timestamp };
}

/** Builds the header Terra would send: used by the simulator, the load tools and the tests. */
export function signatureHeader(secret: string, rawBody: Buffer | string, timestamp: number): string {
  return `t=${timestamp},v1=${computeSignature(secret, timestamp, rawBody).toString('hex')}`;
}

/** `TERRA_SIGNING_SECRET`-style lists: comma-separated, blanks ignored. */
export function parseSecretList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret.length > 0);
}
