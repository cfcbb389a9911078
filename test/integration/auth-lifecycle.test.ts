import { randomUUID } from 'node:crypto';
import { userAttributes } from '../../lambdas/shared/attributes';
import { readUserItem } from '../../lambdas/shared/table-items';
import type { LocalStack } from '../../lib/local/local-stack';
import { deliver, drained, getUser, startTestStack, waitFor } from '../support/local';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const terraUser = (userId: string, extra: Record<string, unknown> = {}) => ({
  user_id: userId,
  provider: 'DEXCOM',
  reference_id: `customer-${userId.slice(0, 8)}`,
  scopes: 'body',
  active: true,
  created_at: '2026-11-01T10:00:00Z',
  last_webhook_update: null,
  ...extra,
});

/** The user as read, with the scopes a permission change added. */
async function userAt(userId: string) {
  const item = await getUser(stack, userId);
  return item && { ...readUserItem(item), scopesAdded: item[userAttributes.scopesAdded] };
}

async function statusBecomes(userId: string, status: string) {
  return waitFor(async () => {
    const user = await userAt(userId);
    return user?.status === status ? user : undefined;
  }, `user ${userId} to be ${status}`);
}

describe('connection lifecycle in terra-users', () => {
  it('records an auth as connected, with provider, reference and scopes', async () => {
    const userId = randomUUID();
    await deliver(
      stack,
      {
        type: 'auth',
        status: 'success',
        user: terraUser(userId),
        reference_id: 'r',
        widget_session_id: 'w',
        message: 'User has authenticated',
      },
      { orderingTimestamp: 1000 },
    );
    const user = await statusBecomes(userId, 'connected');
    expect(user).toMatchObject({
      provider: 'DEXCOM',
      referenceId: `customer-${userId.slice(0, 8)}`,
      active: true,
      scopes: 'body',
      lastEventType: 'auth',
      orderingTs: 1000,
    });
    expect(typeof user.updatedAt).toBe('string');
  });

  it('goes from connected to deauthenticated, and a late auth does not revive it', async () => {
    const userId = randomUUID();
    await deliver(stack, { type: 'auth', status: 'success', user: terraUser(userId) }, { orderingTimestamp: 1000 });
    await statusBecomes(userId, 'connected');
    await deliver(
      stack,
      { type: 'deauth', status: 'success', user: terraUser(userId, { active: false }), message: 'User has deauthenticated' },
      { orderingTimestamp: 3000 },
    );
    await statusBecomes(userId, 'deauthenticated');
    await deliver(stack, { type: 'auth', status: 'success', user: terraUser(userId) }, { orderingTimestamp: 2000 });
    await drained(stack);
    expect(await userAt(userId)).toMatchObject({ status: 'deauthenticated', active: false, lastEventType: 'deauth' });
  });

  it('marks the old user replaced after a user_reauth and points it to the new one', async () => {
    const oldId = randomUUID();
    const newId = randomUUID();
    await deliver(stack, { type: 'auth', status: 'success', user: terraUser(oldId) }, { orderingTimestamp: 1000 });
    await statusBecomes(oldId, 'connected');
    await deliver(
      stack,
      {
        type: 'user_reauth',
        status: 'warning',
        message: 'User has reauthenticated',
        old_user: terraUser(oldId),
        new_user: terraUser(newId),
        version: '2022-03-16',
      },
      { orderingTimestamp: 2000 },
    );
    const old = await statusBecomes(oldId, 'replaced');
    expect(old).toMatchObject({ active: false, replacedBy: newId });
    expect(await userAt(newId)).toMatchObject({ status: 'connected', active: true, replaces: oldId });
  });

  it.each([
    ['access_revoked', 'access_revoked'],
    ['connection_error', 'connection_error'],
    ['google_no_datasource', 'no_datasource'],
  ])('records %s', async (type, status) => {
    const userId = randomUUID();
    await deliver(
      stack,
      { type, status: 'warning', user: terraUser(userId, { active: false }), message: 'm' },
      { orderingTimestamp: 1000 },
    );
    expect(await statusBecomes(userId, status)).toMatchObject({ lastEventType: type });
  });

  it('updates scopes on a permission change and keeps the status', async () => {
    const userId = randomUUID();
    await deliver(stack, { type: 'auth', status: 'success', user: terraUser(userId) }, { orderingTimestamp: 1000 });
    await statusBecomes(userId, 'connected');
    await deliver(
      stack,
      {
        type: 'permission_change',
        status: 'warning',
        message: 'm',
        version: '2022-03-16',
        user: terraUser(userId, { scopes: 'body,activity' }),
        scopes_added: 'activity',
        scopes_removed: '',
      },
      { orderingTimestamp: 2000 },
    );
    const user = await waitFor(async () => {
      const read = await userAt(userId);
      return read?.lastEventType === 'permission_change' ? read : undefined;
    }, 'the permission change');
    expect(user).toMatchObject({ status: 'connected', scopes: 'body,activity', scopesAdded: 'activity' });
  });
});
