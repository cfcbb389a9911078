import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import fc from 'fast-check';
import { createWebhookHandler, type IngestDependencies } from '../../lambdas/ingest/webhook';
import type { Delivery } from '../../lambdas/shared/delivery';
import { terraSourceIps } from '../../lambdas/shared/definitions';
import { silentLogger } from '../../lambdas/shared/logger';
import { parseSourceIpAllowlist } from '../../lambdas/shared/source-ips';
import {
  type BuiltHeader,
  forgedHeader,
  forgeryArbitrary,
  hostileBodyArbitrary,
  neutralChangeArbitrary,
  neutralHeader,
  propertyRuns,
  propertySeed,
  renderBody,
  replayHint,
  signatureHeaderName,
  totalPropertyRuns,
} from '../support/arbitraries';

/**
 * Property-based tests of the ingest handler (issue 8): whatever an unauthenticated sender does
 * to a valid signature header, or to the body's encoding, the handler refuses with 401 and a JSON
 * error and enqueues nothing; a valid header after changes that keep it valid is always accepted,
 * with the body enqueued once, byte for byte. The handler runs in process with real signature
 * verification and a recording enqueue. FC_SEED=<n> replays another run.
 */

const seed = propertySeed();
const hint = replayHint(seed, 'test:unit', 'test/unit/property-ingest.test.ts');

const nowMs = 1_795_000_000_456;
const nowSeconds = Math.floor(nowMs / 1000);
const toleranceSeconds = 300;
const secrets = ['whsec-current-7Rk2', 'whsec-previous-Qw9z'] as const;

type Handler = (event: APIGatewayProxyEventV2) => Promise<APIGatewayProxyStructuredResultV2>;
type Enqueued = Delivery[];
/** Builds the handler under test for one case, with the list its enqueue records into. */
type HandlerFactory = (enqueued: Enqueued) => Handler;

const handlerWith =
  (options: Pick<IngestDependencies, 'allowedSourceIps'> = {}): HandlerFactory =>
  (enqueued) =>
    createWebhookHandler({
      signingSecrets: async () => secrets,
      enqueue: async (delivery) => void enqueued.push(delivery),
      toleranceSeconds,
      now: () => nowMs,
      logger: silentLogger,
      ...options,
    });

const realHandler = handlerWith();

/** A request body and how API Gateway hands it over. */
interface RequestBody {
  bytes: Buffer;
  body: string;
  isBase64Encoded: boolean;
}

const asText = (text: string): RequestBody => ({ bytes: Buffer.from(text, 'utf8'), body: text, isBase64Encoded: false });
const asBase64 = (bytes: Uint8Array): RequestBody => ({
  bytes: Buffer.from(bytes),
  body: Buffer.from(bytes).toString('base64'),
  isBase64Encoded: true,
});

/** Terra-like JSON (hostile or not), any text, any bytes. */
const requestBody: fc.Arbitrary<RequestBody> = fc.oneof(
  hostileBodyArbitrary
    .map((spec) => renderBody(spec, 'ingest'))
    .map((bytes) => (bytes.equals(Buffer.from(bytes.toString('utf8'))) ? asText(bytes.toString('utf8')) : asBase64(bytes))),
  fc.string({ unit: 'binary', maxLength: 300 }).map(asText),
  fc.uint8Array({ maxLength: 300 }).map(asBase64),
);

/** Headers Terra sends beside the signature (none of them signed), at their most hostile. */
const otherHeaders: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'x-terra-ordering-timestamp': fc.oneof(fc.stringMatching(/^\d{1,20}$/), fc.string({ unit: 'binary', maxLength: 30 })),
    'terra-reference': fc.oneof(fc.uuid(), fc.string({ unit: 'binary', maxLength: 50 }), fc.constant('r'.repeat(10_000))),
    'x-terra-trace-id': fc.oneof(fc.uuid(), fc.string({ unit: 'binary', maxLength: 50 }), fc.constant('t'.repeat(10_000))),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/octet-stream', '\u0000'),
  },
  { requiredKeys: [] },
);

function apiEvent(header: BuiltHeader, body: RequestBody, others: Record<string, string>, sourceIp: string): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = { ...others };
  if (header.name !== undefined && header.value !== undefined) headers[header.name] = header.value;
  return {
    version: '2.0',
    routeKey: 'POST /webhook',
    rawPath: '/webhook',
    headers,
    body: body.body,
    isBase64Encoded: body.isBase64Encoded,
    requestContext: { http: { method: 'POST', path: '/webhook', sourceIp } },
  } as unknown as APIGatewayProxyEventV2;
}

const stackTrace = /\bat\s+\S+\s+\(|\bat\s+(file:|\/)|\.(ts|js|mjs):\d+|node_modules|\/work\/|Error:/;
const signatureCodes = ['signature_missing', 'signature_malformed', 'signature_mismatch', 'signature_expired'];

/** Refused: 401 (or as given), `{"error":{"code","message"}}` and nothing else, no trace of code or secret, nothing enqueued. */
function assertRefused(result: APIGatewayProxyStructuredResultV2, enqueued: Enqueued, status = 401, codes = signatureCodes) {
  if (result.statusCode !== status) throw new Error(`answered ${result.statusCode}, not ${status}: ${result.body}`);
  if (enqueued.length !== 0) throw new Error(`enqueued ${enqueued.length} deliveries for an unauthenticated request`);
  if (!/^application\/json/.test(String(result.headers?.['content-type'])))
    throw new Error(`content-type ${result.headers?.['content-type']}`);
  const parsed = JSON.parse(result.body ?? '');
  const { error, ...rest } = parsed;
  if (Object.keys(rest).length > 0 || typeof error !== 'object' || error === null) throw new Error(`not a JSON error: ${result.body}`);
  if (!codes.includes(error.code) || typeof error.message !== 'string' || error.message === '') throw new Error(`error is ${result.body}`);
  if (Object.keys(error).length !== 2) throw new Error(`error has more than code and message: ${result.body}`);
  if (stackTrace.test(result.body ?? '')) throw new Error(`a stack trace in the answer: ${result.body}`);
  if (secrets.some((secret) => result.body!.includes(secret))) throw new Error('the answer names a signing secret');
}

const timestampWithinTolerance = fc.integer({ min: -toleranceSeconds, max: toleranceSeconds }).map((offset) => nowSeconds + offset);
const sourceIp = fc.oneof(fc.ipV4(), fc.ipV6());

const signingInput = (body: RequestBody, timestamp: number, signer: 0 | 1) => ({
  secrets: signer === 0 ? secrets : [secrets[1], secrets[0]],
  body: body.bytes,
  timestamp,
  nowSeconds,
  toleranceSeconds,
});

function unauthenticated(makeHandler: HandlerFactory) {
  return fc.asyncProperty(
    requestBody,
    timestampWithinTolerance,
    fc.constantFrom<0 | 1>(0, 1),
    signatureHeaderName,
    forgeryArbitrary,
    fc.array(neutralChangeArbitrary, { maxLength: 4 }),
    otherHeaders,
    sourceIp,
    async (body, timestamp, signer, name, forgery, changes, others, ip) => {
      const enqueued: Enqueued = [];
      const header = forgedHeader(signingInput(body, timestamp, signer), name, forgery, changes);
      assertRefused(await makeHandler(enqueued)(apiEvent(header, body, others, ip)), enqueued);
    },
  );
}

/** Not the bytes the header signs: base64 that is not base64, or base64 sent as text. */
const garbageEncoding: fc.Arbitrary<{ sent: RequestBody; signed: Buffer }> = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }).map((text) => ({
    sent: { bytes: Buffer.from(text, 'base64'), body: text, isBase64Encoded: true },
    signed: Buffer.from(text, 'utf8'),
  })),
  fc.uint8Array({ minLength: 1, maxLength: 300 }).map((bytes) => {
    const text = Buffer.from(bytes).toString('base64');
    return { sent: asText(text), signed: Buffer.from(bytes) };
  }),
);

function garbageEncodings(makeHandler: HandlerFactory) {
  return fc.asyncProperty(
    garbageEncoding,
    timestampWithinTolerance,
    signatureHeaderName,
    otherHeaders,
    sourceIp,
    async ({ sent, signed }, timestamp, name, others, ip) => {
      const enqueued: Enqueued = [];
      const header = neutralHeader({ secrets, body: signed, timestamp, nowSeconds, toleranceSeconds }, name, []);
      assertRefused(await makeHandler(enqueued)(apiEvent(header, sent, others, ip)), enqueued);
    },
  );
}

function authentic(makeHandler: HandlerFactory) {
  return fc.asyncProperty(
    requestBody,
    timestampWithinTolerance,
    fc.constantFrom<0 | 1>(0, 1),
    signatureHeaderName,
    fc.array(neutralChangeArbitrary, { maxLength: 4 }),
    otherHeaders,
    sourceIp,
    async (body, timestamp, signer, name, changes, others, ip) => {
      const enqueued: Enqueued = [];
      const header = neutralHeader(signingInput(body, timestamp, signer), name, changes);
      const result = await makeHandler(enqueued)(apiEvent(header, body, others, ip));
      if (result.statusCode !== 200) throw new Error(`an authentic request answered ${result.statusCode}: ${result.body}`);
      if (result.body !== '{"status":"accepted"}') throw new Error(`answer ${result.body}`);
      if (enqueued.length !== 1) throw new Error(`enqueued ${enqueued.length} times, not once`);
      const [delivery] = enqueued;
      if (!Buffer.from(delivery.body).equals(body.bytes)) throw new Error('the enqueued body is not the bytes received');
      if (delivery.signatureTimestamp !== timestamp)
        throw new Error(`signature timestamp ${delivery.signatureTimestamp}, not ${timestamp}`);
      if (delivery.receivedAt !== new Date(nowMs).toISOString()) throw new Error(`receivedAt ${delivery.receivedAt}`);
      const ordering = delivery.orderingTimestamp;
      if (
        ordering !== undefined &&
        !(Number.isSafeInteger(ordering) && ordering >= 0 && ordering <= (timestamp + toleranceSeconds) * 1000)
      ) {
        throw new Error(`ordering timestamp ${ordering} is not a time the signature window allows`);
      }
    },
  );
}

/** With `ALLOWED_SOURCE_IPS` set to Terra's addresses: from elsewhere, even a valid signature is refused (403). */
const allowlisted = handlerWith({ allowedSourceIps: parseSourceIpAllowlist(terraSourceIps.join(',')) });

const listed = new Set<string>(terraSourceIps.flatMap((ip) => [ip, `::ffff:${ip}`]));
const elsewhere = fc
  .oneof(fc.ipV4(), fc.ipV6(), fc.constantFrom('', 'unknown', '18.133.218.210 ', '18.133.218.2100', '::1'))
  .filter((ip) => !listed.has(ip.toLowerCase()));

function fromElsewhere(makeHandler: HandlerFactory) {
  return fc.asyncProperty(
    requestBody,
    timestampWithinTolerance,
    signatureHeaderName,
    otherHeaders,
    elsewhere,
    async (body, timestamp, name, others, ip) => {
      const enqueued: Enqueued = [];
      const header = neutralHeader(signingInput(body, timestamp, 0), name, []);
      assertRefused(await makeHandler(enqueued)(apiEvent(header, body, others, ip)), enqueued, 403, ['source_ip_not_allowed']);
    },
  );
}

async function check(property: fc.IAsyncProperty<unknown>, numRuns: number) {
  try {
    await fc.assert(property, { seed, numRuns });
  } catch (error) {
    (error as Error).message += `\n${hint}`;
    throw error;
  }
}

describe(`ingest handler, property-based (seed ${seed})`, () => {
  it(`refuses every forged, truncated, re-ordered, duplicated, expired or misnamed signature header with 401 and a JSON error, enqueueing nothing (${propertyRuns.ingest.unauthenticated} cases)`, async () => {
    await check(unauthenticated(realHandler), propertyRuns.ingest.unauthenticated);
  });

  it(`refuses a body whose encoding is not what the header signs: invalid base64, base64 sent as text (${propertyRuns.ingest.garbageEncodings} cases)`, async () => {
    await check(garbageEncodings(realHandler), propertyRuns.ingest.garbageEncodings);
  });

  it(`accepts any body under a valid header, however it is spelled, and enqueues it once, byte for byte (${propertyRuns.ingest.authentic} cases)`, async () => {
    await check(authentic(realHandler), propertyRuns.ingest.authentic);
  });

  it(`with a source allowlist, refuses every request from elsewhere with 403, however well signed; a listed source still needs a valid signature (${propertyRuns.ingest.sourceAllowlist} cases)`, async () => {
    await check(fromElsewhere(allowlisted), propertyRuns.ingest.sourceAllowlist / 2);
    const fromTerra =
      (factory: HandlerFactory): HandlerFactory =>
      (enqueued) =>
      (event) =>
        factory(enqueued)({
          ...event,
          requestContext: { ...event.requestContext, http: { ...event.requestContext.http, sourceIp: terraSourceIps[0] } },
        });
    await check(unauthenticated(fromTerra(allowlisted)), propertyRuns.ingest.sourceAllowlist / 4);
    await check(authentic(fromTerra(allowlisted)), propertyRuns.ingest.sourceAllowlist / 4);
  });

  it('runs at least 10,000 generated cases in all, at least 2,000 of them through the consumer', () => {
    expect(totalPropertyRuns).toBeGreaterThanOrEqual(10_000);
    expect(propertyRuns.consumer.hostileBodies + propertyRuns.consumer.hostilePings).toBeGreaterThanOrEqual(2_000);
  });
});

describe('the ingest properties can fail', () => {
  const run = (property: fc.IAsyncProperty<unknown>) => fc.check(property, { seed, numRuns: 200 });

  it('a handler that accepts without checking fails the unauthenticated property', async () => {
    const acceptsAll: HandlerFactory = (enqueued) => async (event) => {
      enqueued.push({ body: Buffer.from(event.body ?? ''), signatureTimestamp: nowSeconds, receivedAt: new Date(nowMs).toISOString() });
      return { statusCode: 200, body: '{"status":"accepted"}' };
    };
    expect((await run(unauthenticated(acceptsAll))).failed).toBe(true);
  });

  it('a handler without the allowlist fails the property of requests from elsewhere', async () => {
    expect((await run(fromElsewhere(realHandler))).failed).toBe(true);
  });

  it('a handler that answers with a stack trace fails it', async () => {
    const leaky: HandlerFactory = () => async () => ({
      statusCode: 401,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        error: { code: 'signature_mismatch', message: 'Error: bad\n    at verify (/work/main/lambdas/shared/signature.ts:71:9)' },
      }),
    });
    expect((await run(unauthenticated(leaky))).failed).toBe(true);
  });

  it('a handler that ignores the previous secret fails the authentic property', async () => {
    const currentOnly: HandlerFactory = (enqueued) =>
      createWebhookHandler({
        signingSecrets: async () => [secrets[0]],
        enqueue: async (delivery) => void enqueued.push(delivery),
        toleranceSeconds,
        now: () => nowMs,
        logger: silentLogger,
      });
    expect((await run(authentic(currentOnly))).failed).toBe(true);
  });

  it('a handler that decodes every body as text fails the authentic property', async () => {
    const textOnly: HandlerFactory = (enqueued) => {
      const handler = realHandler(enqueued);
      return (event) =>
        handler({
          ...event,
          body: event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body,
          isBase64Encoded: false,
        });
    };
    expect((await run(authentic(textOnly))).failed).toBe(true);
  });
});
