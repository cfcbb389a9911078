import { parseSecretList, signatureHeader, verifySignature } from '../../lambdas/shared/signature';

// Terra's public test vector (docs/terra.md §9), from its JS SDK's tests.
const vector = {
  secret: '66142e0c2960f788b19830807d4aa25cfd27a610ec65fd36',
  header: 't=1669742999,v1=c885ce58891b69ab5b6c8fc7536544f4f515f2e22ec811152849295b3d995c93',
  body: '{"user": {"last_webhook_update": null, "provider": "FITBIT", "user_id": "d81ea08d-ad4d-44bd-8394-ee4b68a3f96f", "scopes": null}, "type": "deauth", "status": "success", "message": "User has deauthenticated", "version": "2022-03-16"}',
};

const now = 1_700_000_000;
const options = { secrets: ['current-secret'], toleranceSeconds: 300, nowSeconds: now };
const body = Buffer.from('{"type":"healthcheck"}');

describe('verifySignature', () => {
  it("accepts Terra's published test vector when the window covers its 2022 timestamp", () => {
    const result = verifySignature(vector.header, Buffer.from(vector.body), {
      secrets: [vector.secret],
      toleranceSeconds: Number.MAX_SAFE_INTEGER,
      nowSeconds: now,
    });
    expect(result).toEqual({ valid: true, timestamp: 1669742999 });
  });

  it('rejects the test vector as expired under the default five-minute window', () => {
    const result = verifySignature(vector.header, Buffer.from(vector.body), { ...options, secrets: [vector.secret] });
    expect(result).toMatchObject({ valid: false, reason: 'signature_expired' });
  });

  it('rejects the test vector when one byte of the body changes', () => {
    const tampered = Buffer.from(vector.body.replace('FITBIT', 'FITBIu'));
    const result = verifySignature(vector.header, tampered, {
      secrets: [vector.secret],
      toleranceSeconds: Number.MAX_SAFE_INTEGER,
      nowSeconds: now,
    });
    expect(result).toMatchObject({ valid: false, reason: 'signature_mismatch' });
  });

  it('accepts a signature made with the current secret', () => {
    expect(verifySignature(signatureHeader('current-secret', body, now), body, options).valid).toBe(true);
  });

  it('accepts the previous secret during a rotation and rejects an unknown one', () => {
    const rotating = { ...options, secrets: ['new-secret', 'current-secret'] };
    expect(verifySignature(signatureHeader('current-secret', body, now), body, rotating).valid).toBe(true);
    expect(verifySignature(signatureHeader('new-secret', body, now), body, rotating).valid).toBe(true);
    expect(verifySignature(signatureHeader('other-secret', body, now), body, rotating)).toMatchObject({ reason: 'signature_mismatch' });
  });

  it('accepts when any of several v1 signatures matches and ignores other schemes', () => {
    const good = signatureHeader('current-secret', body, now).split(',')[1];
    const header = `t=${now},v0=${'ab'.repeat(32)},v1=${'00'.repeat(32)},${good},v2=whatever`;
    expect(verifySignature(header, body, options).valid).toBe(true);
  });

  it('rejects a header whose only signature is of another scheme', () => {
    const v1 = signatureHeader('current-secret', body, now).split('v1=')[1];
    expect(verifySignature(`t=${now},v0=${v1}`, body, options)).toMatchObject({ reason: 'signature_malformed' });
  });

  it.each([
    ["the window's edge in the past", now - 300, true],
    ['one second past the window', now - 301, false],
    ["the window's edge in the future", now + 300, true],
    ['one second too far in the future', now + 301, false],
  ])('freshness: %s', (_label, timestamp, valid) => {
    expect(verifySignature(signatureHeader('current-secret', body, timestamp), body, options).valid).toBe(valid);
  });

  it.each([
    ['missing', undefined, 'signature_missing'],
    ['empty', '  ', 'signature_missing'],
    ['without a timestamp', `v1=${'a'.repeat(64)}`, 'signature_malformed'],
    ['with a non-numeric timestamp', `t=yesterday,v1=${'a'.repeat(64)}`, 'signature_malformed'],
    ['with a truncated signature', `t=${now},v1=abc`, 'signature_malformed'],
    ['of garbage', 'garbage', 'signature_malformed'],
  ])('rejects a header that is %s', (_label, header, reason) => {
    expect(verifySignature(header, body, options)).toMatchObject({ valid: false, reason });
  });

  it('verifies the raw bytes, so re-serialised JSON does not match', () => {
    const raw = Buffer.from('{"type": "healthcheck"}');
    const header = signatureHeader('current-secret', raw, now);
    expect(verifySignature(header, Buffer.from(JSON.stringify(JSON.parse(raw.toString()))), options).valid).toBe(false);
  });
});

describe('parseSecretList', () => {
  it('splits a comma-separated list, trimming blanks', () => {
    expect(parseSecretList(' a , b,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseSecretList(undefined)).toEqual([]);
  });
});
