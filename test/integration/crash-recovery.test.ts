import { dataItemKey } from '../../lambdas/shared/table-items';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { createDocumentClient } from '../../lambdas/shared/dynamodb';
import { signatureHeader } from '../../lambdas/shared/signature';
import { localCredentials, localRegion } from '../../lib/local/emulators';
import { waitFor } from '../support/local';

/**
 * `npm start` killed with SIGKILL while deliveries are in flight, restarted on the same
 * LOCAL_DATA_DIR: every delivery it acknowledged ends up stored.
 */

const secret = 'crash-test-secret';

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

let dataDir: string;
let env: NodeJS.ProcessEnv;
let child: ChildProcess | undefined;

function startLocal(): ChildProcess {
  // One process, node itself with tsx's loader: the tsx CLI would put a parent in between,
  // and SIGKILL would not reach the stack.
  const process_ = spawn(process.execPath, ['--import', 'tsx', 'bin/local.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  process_.stdout?.resume();
  process_.stderr?.resume();
  return process_;
}

async function healthy() {
  await waitFor(
    async () => {
      const response = await fetch(`http://127.0.0.1:${env.PORT}/health`).catch(() => undefined);
      return response?.ok ? true : undefined;
    },
    'the local stack to start',
    30_000,
  );
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'terra-ingest-crash-'));
  env = {
    ...process.env,
    PORT: String(await freePort()),
    DYNAMODB_PORT: String(await freePort()),
    SQS_PORT: String(await freePort()),
    ADMIN_PORT: String(await freePort()),
    LOCAL_DATA_DIR: dataDir,
    TERRA_SIGNING_SECRET: secret,
    // In-flight messages of the killed process come back after this, as in Lambda.
    QUEUE_VISIBILITY_TIMEOUT_SECONDS: '2',
    POWERTOOLS_LOG_LEVEL: 'ERROR',
  };
});

afterAll(async () => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

test('every acknowledged delivery is stored after a SIGKILL and a restart', async () => {
  child = startLocal();
  await healthy();

  const userIds = Array.from({ length: 300 }, () => randomUUID());
  const acknowledged: string[] = [];
  let killed = false;
  let next = 0;
  const send = async () => {
    while (next < userIds.length) {
      const userId = userIds[next++];
      const body = JSON.stringify({
        type: 'sleep',
        user: { user_id: userId, provider: 'WITHINGS' },
        data: [{ metadata: { summary_id: 'night', start_time: '2026-11-20T23:00:00+01:00', end_time: '2026-11-21T07:00:00+01:00' } }],
      });
      const response = await fetch(`http://127.0.0.1:${env.PORT}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'terra-signature': signatureHeader(secret, body, Math.floor(Date.now() / 1000)) },
        body,
      }).catch(() => undefined); // refused or reset once killed: not acknowledged, Terra would retry
      if (response?.status === 200) acknowledged.push(userId);
      if (acknowledged.length >= 120 && !killed) {
        killed = true;
        child!.kill('SIGKILL');
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, send));
  expect(killed).toBe(true);
  expect(acknowledged.length).toBeGreaterThanOrEqual(120);

  child = startLocal();
  await healthy();
  const db = createDocumentClient({
    endpoint: `http://127.0.0.1:${env.DYNAMODB_PORT}`,
    region: localRegion,
    credentials: localCredentials,
  });
  try {
    const missing = async () => {
      const found = await Promise.all(
        acknowledged.map(
          async (userId) => (await db.send(new GetCommand({ TableName: 'terra-data', Key: dataItemKey(userId, 'sleep#night') }))).Item,
        ),
      );
      return found.filter((item) => !item).length;
    };
    await waitFor(async () => ((await missing()) === 0 ? true : undefined), 'every acknowledged delivery to be stored', 60_000);
  } finally {
    db.destroy();
  }

  // And it stops cleanly on SIGTERM.
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  child = undefined;
}, 120_000);
