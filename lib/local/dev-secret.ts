import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The file in LOCAL_DATA_DIR holding the generated development secret; simulate reads it too. */
export const devSecretFile = 'signing-secret';

/**
 * A development signing secret for the local stack when TERRA_SIGNING_SECRET is unset. It is
 * kept in the data directory, so a restart (and `npm run simulate`) use the same one.
 */
export function loadOrCreateDevSecret(dataDir: string): { secret: string; created: boolean } {
  const path = join(dataDir, devSecretFile);
  if (existsSync(path)) {
    const secret = readFileSync(path, 'utf8').trim();
    if (secret) return { secret, created: false };
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = `dev_${randomBytes(24).toString('hex')}`;
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return { secret, created: true };
}
