import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput } from '@aws-lambda-powertools/logger/types';

/** The slice of Powertools' Logger the core modules use, so tests can pass a silent one. */
export type Logger = Pick<PowertoolsLogger, 'info' | 'warn' | 'error'>;

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/**
 * The same logger with `keys` on every line (unset ones left out): one per delivery, so the
 * correlation keys (observability.logKeys) of one message can never appear on the next one's
 * lines. Not Powertools' appendKeys: that changes the one shared logger, and batches (the local
 * stack's pollers) or requests that overlap would then stamp each other's lines.
 */
export function withKeys(logger: Logger, keys: Record<string, string | undefined>): Logger {
  const defined: Record<string, string> = {};
  for (const [name, value] of Object.entries(keys)) if (value !== undefined) defined[name] = value;
  // Powertools takes each extra item on its own (an object is merged, an Error becomes `error`);
  // only its type insists that a string or an Error come alone.
  const stamped = (extra: LogItemExtraInput) => [defined, ...extra] as LogItemExtraInput;
  return {
    info: (message, ...extra) => logger.info(message, ...stamped(extra)),
    warn: (message, ...extra) => logger.warn(message, ...stamped(extra)),
    error: (message, ...extra) => logger.error(message, ...stamped(extra)),
  };
}
