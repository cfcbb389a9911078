import { eventId, eventPut, recordPut, userUpdate } from '../../lambdas/consumer/items';

const delivery = {
  signatureTimestamp: 1_700_000_000,
  receivedAt: '2026-11-22T00:00:00.000Z',
  orderingTs: 1_700_000_000_500,
  terraReference: 'ref',
  bodySha256: 'ab'.repeat(32),
};
const user = { user_id: 'u-1', provider: 'XOSS', reference_id: null };
const record = {
  recordId: 'activity#a',
  startTime: '2026-11-21T07:00:00+00:00',
  endTime: '2026-11-21T08:00:00+00:00',
  summaryId: 'a',
  record: { metadata: { summary_id: 'a' } },
};

describe('the conditional-write decision (its effect is proven against DynamoDB in test/integration/ordering)', () => {
  it('puts a record under the newer-copy condition, with arrival as the tie-breaker', () => {
    const put = recordPut('terra-data', 'activity', user, record, delivery, { payload: record.record });
    // The rule in the test's own words: nothing stored, an older copy, or a tie with an earlier
    // arrival and another body (its effect against DynamoDB: test/integration/ordering-ties).
    expect(put.ConditionExpression).toBe(
      [
        'attribute_not_exists(#ordering_ts)',
        '#ordering_ts < :ordering_ts',
        '#ordering_ts = :ordering_ts AND #tie < :tie AND #body_sha256 <> :body_sha256',
      ].join(' OR '),
    );
    expect(put.ExpressionAttributeNames).toEqual({ '#ordering_ts': 'ordering_ts', '#tie': 'received_at', '#body_sha256': 'body_sha256' });
    expect(put.ExpressionAttributeValues).toEqual({
      ':ordering_ts': 1_700_000_000_500,
      ':tie': delivery.receivedAt,
      ':body_sha256': delivery.bodySha256,
    });
    expect(put.Item).toMatchObject({ ordering_ts: 1_700_000_000_500, received_at: delivery.receivedAt, body_sha256: delivery.bodySha256 });
    expect(put.Item).not.toHaveProperty('s3_sequencer');
  });

  it('breaks a tie of a copy from the S3 destination by its sequencer, and stores it', () => {
    const fromS3 = { ...delivery, s3Sequencer: '00000000000000000055AED6DCD90281E5' };
    const put = recordPut('terra-data', 'activity', user, record, fromS3, { payload: record.record });
    expect(put.ExpressionAttributeNames).toMatchObject({ '#tie': 's3_sequencer' });
    expect(put.ExpressionAttributeValues).toMatchObject({ ':tie': fromS3.s3Sequencer });
    expect(put.Item).toMatchObject({ s3_sequencer: fromS3.s3Sequencer, received_at: delivery.receivedAt });
  });

  it('clears a stored S3 tie-breaker when a copy comes through another door, and sets it from the S3 door', () => {
    const change = { userId: 'u-1', provider: 'XOSS', status: 'deauthenticated', active: false };
    expect(userUpdate('terra-users', 'deauth', change, delivery).UpdateExpression).toMatch(/ REMOVE #s3_sequencer$/);
    const fromS3 = userUpdate('terra-users', 'deauth', change, { ...delivery, s3Sequencer: '0A' });
    expect(fromS3.UpdateExpression).not.toMatch(/REMOVE/);
    expect(fromS3.ExpressionAttributeValues).toMatchObject({ ':s3_sequencer': '0A', ':tie': '0A' });
  });

  it("applies the same rule to a user's connection state", () => {
    const update = userUpdate(
      'terra-users',
      'deauth',
      { userId: 'u-1', provider: 'XOSS', status: 'deauthenticated', active: false },
      delivery,
    );
    expect(update.ConditionExpression).toBe(
      recordPut('terra-data', 'activity', user, record, delivery, { payload: {} }).ConditionExpression,
    );
    // For a user, the arrival time is its updated_at.
    expect(update.ExpressionAttributeNames).toMatchObject({ '#tie': 'updated_at', '#body_sha256': 'body_sha256' });
    expect(update.ExpressionAttributeValues).toMatchObject({
      ':ordering_ts': 1_700_000_000_500,
      ':status': 'deauthenticated',
      ':active': false,
    });
  });

  it("keeps events once per body: the id is the body's hash and the write never overwrites", () => {
    const body = Buffer.from('{"type":"healthcheck"}');
    const put = eventPut('terra-events', { type: 'healthcheck', outcome: 'recorded', reason: 'r' }, body, delivery);
    expect(put.Item?.event_id).toBe(delivery.bodySha256);
    expect(eventId(body)).toMatch(/^[0-9a-f]{64}$/);
    expect(put.ConditionExpression).toBe('attribute_not_exists(event_id)');
  });
});

describe('record items', () => {
  it('carries the documented attributes and the record itself as a map', () => {
    const { Item } = recordPut('terra-data', 'activity', { ...user, reference_id: 'me@example.com' }, record, delivery, {
      payload: record.record,
    });
    expect(Item).toEqual({
      user_id: 'u-1',
      record_id: 'activity#a',
      user_type: 'u-1#activity',
      type: 'activity',
      provider: 'XOSS',
      reference_id: 'me@example.com',
      start_time: record.startTime,
      end_time: record.endTime,
      summary_id: 'a',
      ordering_ts: delivery.orderingTs,
      received_at: delivery.receivedAt,
      body_sha256: delivery.bodySha256,
      terra_reference: 'ref',
      payload: record.record,
    });
  });

  it('omits absent optional attributes rather than writing nulls into index keys', () => {
    const { Item } = recordPut(
      'terra-data',
      'athlete',
      user,
      { recordId: 'athlete#profile', record: {} },
      { ...delivery, terraReference: undefined },
      { payload: {} },
    );
    expect(Object.keys(Item ?? {})).not.toEqual(expect.arrayContaining(['reference_id']));
    expect(Item).not.toHaveProperty('start_time');
    expect(Item).not.toHaveProperty('terra_reference');
  });
});
