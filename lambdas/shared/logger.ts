import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

/** The slice of Powertools' Logger the core modules use, so tests can pass a silent one. */
export type Logger = Pick<PowertoolsLogger, 'info' | 'warn' | 'error'>;

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
