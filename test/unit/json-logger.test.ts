import type { Context } from 'aws-lambda';
import { JsonLogger, logLevelOf } from '../../lambdas/shared/json-logger';
import { withKeys } from '../../lambdas/shared/logger';

function capture(level?: number) {
  const lines: Record<string, unknown>[] = [];
  const logger = new JsonLogger({
    serviceName: 'terra-ingest-webhook',
    write: (line) => lines.push(JSON.parse(line)),
    now: () => Date.UTC(2026, 10, 22),
    level,
  });
  return { lines, logger };
}

const context = {
  invokedFunctionArn: 'arn:aws:lambda:eu-west-2:1:function:f',
  memoryLimitInMB: '512',
  functionName: 'f',
  awsRequestId: 'req-1',
} as Context;

describe("the functions' JSON logger", () => {
  it("writes the fields Powertools Logger writes, so the README's log queries read them", () => {
    const { lines, logger } = capture();
    logger.setContext(context);
    withKeys(logger, { trace_id: 't-1', terra_reference: undefined }).info('delivery accepted', { sqs_message_id: 'm-1', body_bytes: 12 });
    expect(lines).toEqual([
      {
        level: 'INFO',
        message: 'delivery accepted',
        timestamp: '2026-11-22T00:00:00.000Z',
        service: 'terra-ingest-webhook',
        cold_start: true,
        function_arn: context.invokedFunctionArn,
        function_memory_size: 512,
        function_name: 'f',
        function_request_id: 'req-1',
        trace_id: 't-1',
        sqs_message_id: 'm-1',
        body_bytes: 12,
      },
    ]);
  });

  it('marks only the first invocation of a container as a cold start', () => {
    const { lines, logger } = capture();
    logger.setContext(context);
    logger.setContext({ ...context, awsRequestId: 'req-2' });
    logger.warn('second');
    expect(lines[0]).toMatchObject({ level: 'WARN', cold_start: false, function_request_id: 'req-2' });
  });

  it('writes an Error as `error`, with its name, message and stack', () => {
    const { lines, logger } = capture();
    logger.error('enqueue failed', new TypeError('boom'));
    expect(lines[0].error).toMatchObject({ name: 'TypeError', message: 'boom' });
    expect(String((lines[0].error as { stack: string }).stack)).toContain('TypeError: boom');
  });

  it('leaves out what is below its level, which POWERTOOLS_LOG_LEVEL or AWS_LAMBDA_LOG_LEVEL sets', () => {
    const { lines, logger } = capture(logLevelOf({ POWERTOOLS_LOG_LEVEL: 'error' }));
    logger.info('not written');
    logger.warn('not written');
    logger.error('written');
    expect(lines.map((line) => line.message)).toEqual(['written']);
    expect(logLevelOf({ AWS_LAMBDA_LOG_LEVEL: 'WARN' })).toBe(logLevelOf({ POWERTOOLS_LOG_LEVEL: 'WARN' }));
    expect(logLevelOf({})).toBe(logLevelOf({ POWERTOOLS_LOG_LEVEL: 'INFO' }));
  });
});
