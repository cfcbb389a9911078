import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * The signing secret's value, read from Secrets Manager at most once per `maxAgeSeconds` per
 * container, so a rotated secret is picked up without a deploy; `fresh` reads past the cache. A
 * failure is not cached here (webhook.ts remembers it for a few seconds). What Powertools'
 * getSecret does for this one secret, without its ~8 KB in the ingest bundle.
 */
export function cachedSecretValue(
  client: Pick<SecretsManagerClient, 'send'>,
  secretId: string,
  maxAgeSeconds: number,
  now: () => number = Date.now,
) {
  let cached: { value: string; expiresAt: number } | undefined;
  return async (fresh = false): Promise<string> => {
    if (!fresh && cached && now() < cached.expiresAt) return cached.value;
    const { SecretString: value } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (value === undefined) throw new Error(`secret ${secretId} holds no string value`);
    cached = { value, expiresAt: now() + maxAgeSeconds * 1000 };
    return value;
  };
}
