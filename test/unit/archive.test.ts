import { archiveMetadata, archiveMetadataValueMaxLength, metadataFromArchive } from '../../lambdas/consumer/archive';

const delivery = { signatureTimestamp: 1_700_000_000, receivedAt: '2026-11-22T10:00:00.000Z', orderingTimestamp: 1_700_000_000_123 };

test("Terra's reference and trace id travel with the archived object and read back equal", () => {
  const metadata = archiveMetadata({ ...delivery, terraReference: 'ref/1 é', traceId: 'a1b2:chunk:3' });
  expect(metadataFromArchive(metadata)).toEqual({ ...delivery, terraReference: 'ref/1 é', traceId: 'a1b2:chunk:3' });
});

test('an over-long reference or trace id (unsigned headers) is left out, within S3’s 2 KB of metadata', () => {
  const long = 'x'.repeat(archiveMetadataValueMaxLength + 1);
  const metadata = archiveMetadata({ ...delivery, terraReference: long, traceId: long });
  expect(metadata).not.toHaveProperty('terra-reference');
  expect(metadata).not.toHaveProperty('trace-id');
  expect(Buffer.byteLength(Object.entries(metadata).flat().join(''))).toBeLessThan(2048);
  expect(metadataFromArchive(metadata)).toMatchObject(delivery);
});
