import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import dynalite from 'dynalite';
import { startFauxqs } from 'fauxqs';

/**
 * The embedded AWS stand-ins: dynalite for DynamoDB, fauxqs for SQS and S3. Both speak the real
 * wire protocols, so the handlers run against them with the ordinary SDK clients.
 */

export interface RunningService {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory (tests use it to simulate an outage). */
  start(): Promise<void>;
}

/** Keeps a stoppable server behind a stable endpoint, so it can be taken down and brought back. */
async function restartable(
  port: number,
  launch: (port: number) => Promise<{ port: number; stop(): Promise<void> }>,
): Promise<RunningService> {
  let current: { port: number; stop(): Promise<void> } | undefined = await launch(port);
  const fixedPort = current.port;
  return {
    endpoint: `http://127.0.0.1:${fixedPort}`,
    port: fixedPort,
    async stop() {
      const running = current;
      current = undefined;
      await running?.stop();
    },
    async start() {
      if (!current) current = await launch(fixedPort);
    },
  };
}

/** Credentials the SDK clients need to sign requests; the emulators accept any. */
export const localCredentials = { accessKeyId: 'local', secretAccessKey: 'local' };
export const localRegion = 'us-east-1';

export async function startDynamoDb(port: number, dataDir?: string): Promise<RunningService> {
  let path: string | undefined;
  if (dataDir) {
    path = join(dataDir, 'dynamodb');
    mkdirSync(path, { recursive: true });
  }
  return restartable(port, async (listenPort) => {
    const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listenPort, '127.0.0.1', () => resolve());
    });
    return {
      port: (server.address() as AddressInfo).port,
      stop: () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections?.();
          // dynalite closes its LevelDB store on the server's close event.
          server.close(() => resolve());
        }),
    };
  });
}

export async function startSqsAndS3(port: number, dataDir?: string): Promise<RunningService> {
  let fauxqsDir: string | undefined;
  if (dataDir) {
    fauxqsDir = join(dataDir, 'sqs-s3');
    mkdirSync(fauxqsDir, { recursive: true });
  }
  return restartable(port, async (listenPort) => {
    const server = await startFauxqs({ port: listenPort, logger: false, dataDir: fauxqsDir, defaultRegion: localRegion });
    return { port: server.port, stop: () => server.stop() };
  });
}
