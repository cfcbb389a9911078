import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';
import type { Context } from 'aws-lambda';
import type { Logger } from './logger';

/**
 * The functions' logger: one JSON line per entry, with the keys Powertools Logger writes (`level`,
 * `message`, `timestamp`, `service`, the invocation's `function_*`, `cold_start` and
 * `xray_trace_id`), so the README's Logs Insights queries read the same fields. Not Powertools
 * Logger itself: it is ~18 KB of the ingest bundle's ~240 KB and a share of its cold start
 * (README, Performance), for what the functions use of it: three levels and extra keys.
 */

const levels = { DEBUG: 8, INFO: 12, WARN: 16, ERROR: 20, CRITICAL: 24, SILENT: 28 } as const;
type LevelName = keyof typeof levels;

/** `POWERTOOLS_LOG_LEVEL`, else Lambda's own `AWS_LAMBDA_LOG_LEVEL`, else INFO; as Powertools reads them. */
export function logLevelOf(env: NodeJS.ProcessEnv = process.env): number {
  const name = (env.POWERTOOLS_LOG_LEVEL || env.AWS_LAMBDA_LOG_LEVEL || 'INFO').toUpperCase();
  if (name === 'TRACE') return levels.DEBUG;
  if (name === 'FATAL') return levels.CRITICAL;
  return levels[name as LevelName] ?? levels.INFO;
}

export interface JsonLoggerOptions {
  serviceName: string;
  /** One line at a time; stdout, where Lambda sends it to the function's log group as is. */
  write?: (line: string) => void;
  level?: number;
  now?: () => number;
}

function errorAttributes(error: Error): Record<string, unknown> {
  return { name: error.name, message: error.message, stack: error.stack };
}

export class JsonLogger implements Logger {
  private readonly write: (line: string) => void;
  private readonly level: number;
  private readonly now: () => number;
  private invocation: Record<string, unknown> = {};
  private coldStart = true;

  constructor(private readonly options: JsonLoggerOptions) {
    this.write = options.write ?? ((line) => void process.stdout.write(`${line}\n`));
    this.level = options.level ?? logLevelOf();
    this.now = options.now ?? Date.now;
  }

  /** The invocation's keys on every line until the next one (Powertools' injectLambdaContext). */
  setContext(context: Context): void {
    this.invocation = {
      cold_start: this.coldStart,
      function_arn: context.invokedFunctionArn,
      function_memory_size: context.memoryLimitInMB === undefined ? undefined : Number(context.memoryLimitInMB),
      function_name: context.functionName,
      function_request_id: context.awsRequestId,
    };
    this.coldStart = false;
  }

  info(message: LogItemMessage, ...extra: LogItemExtraInput): void {
    if (this.level <= levels.INFO) this.entry('INFO', message, extra);
  }

  warn(message: LogItemMessage, ...extra: LogItemExtraInput): void {
    if (this.level <= levels.WARN) this.entry('WARN', message, extra);
  }

  error(message: LogItemMessage, ...extra: LogItemExtraInput): void {
    if (this.level <= levels.ERROR) this.entry('ERROR', message, extra);
  }

  private entry(level: LevelName, message: LogItemMessage, extra: LogItemExtraInput): void {
    const line: Record<string, unknown> = {
      level,
      ...(typeof message === 'string' ? { message } : message),
      timestamp: new Date(this.now()).toISOString(),
      service: this.options.serviceName,
      ...this.invocation,
      xray_trace_id: process.env._X_AMZN_TRACE_ID,
    };
    // As Powertools takes them: an object is merged, an Error becomes `error`, a string `extra`.
    for (const item of extra) {
      if (item instanceof Error) line.error = errorAttributes(item);
      else if (typeof item === 'string') line.extra = item;
      else if (item) {
        for (const [key, value] of Object.entries(item)) line[key] = value instanceof Error ? errorAttributes(value) : value;
      }
    }
    this.write(JSON.stringify(line));
  }
}

/** middy middleware: the invocation's context on the logger's lines. */
export const injectContext = (logger: JsonLogger) => ({
  before: (request: { context: Context }) => logger.setContext(request.context),
});
