import type { LocalStack } from '../../lib/local/local-stack';
import { deliver, startTestStack } from '../support/local';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

describe('the local API Gateway', () => {
  it('reports health with the state of its parts', async () => {
    const response = await fetch(stack.healthUrl);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ok', dynamodb: 'ok', sqs: 'ok' });
  });

  it("answers 413 with a JSON error for a body over Lambda's 6 MB limit", async () => {
    const body = JSON.stringify({ type: 'activity', padding: 'x'.repeat(6 * 1024 * 1024) });
    const response = await deliver(stack, body);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('payload_too_large');
  });

  it('measures the limit on the whole invocation event: 6.2 MB of body passes, 6.3 MB does not', async () => {
    // 6 MiB is 6,291,456 bytes: the event around a 6.2 MB body (headers, context) stays under it.
    const under = JSON.stringify({ type: 'healthcheck', padding: 'x'.repeat(6_200_000) });
    const over = JSON.stringify({ type: 'healthcheck', padding: 'x'.repeat(6_300_000) });
    expect((await deliver(stack, under)).status).toBe(200);
    expect((await deliver(stack, over)).status).toBe(413);
  });

  it.each([
    ['GET', '/webhook', 405, 'method_not_allowed'],
    ['POST', '/elsewhere', 404, 'not_found'],
  ])('answers %s %s with %i and a JSON error', async (method, path, status, code) => {
    const response = await fetch(`http://127.0.0.1:${stack.port}${path}`, { method });
    expect(response.status).toBe(status);
    expect(await response.json()).toEqual({ error: { code, message: expect.any(String) } });
  });
});
