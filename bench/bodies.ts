/**
 * Terra-shaped bodies of a chosen size: a `body` data event whose heart-rate samples are padded
 * until the JSON reaches the size, so a 5 MB body is parsed and signed like a real one.
 */
export function dataEventOfSize(bytes: number, userId = 'bench-user'): string {
  const event = {
    type: 'body',
    version: '2022-03-16',
    user: {
      user_id: userId,
      provider: 'WITHINGS',
      reference_id: 'bench',
      scopes: 'body',
      active: true,
      created_at: '2026-11-01T10:00:00Z',
      last_webhook_update: null,
    },
    data: [
      {
        metadata: { start_time: '2026-11-21T00:00:00.000000+00:00', end_time: '2026-11-22T00:00:00.000000+00:00' },
        heart_data: { heart_rate_data: { detailed: { hr_samples: [] as { timestamp: string; bpm: number }[] } } },
      },
    ],
  };
  const samples = event.data[0].heart_data.heart_rate_data.detailed.hr_samples;
  const sample = (n: number) => ({ timestamp: new Date(Date.UTC(2026, 10, 21) + n * 1000).toISOString(), bpm: 50 + (n % 90) });
  const perSample = JSON.stringify(sample(0)).length + 1;
  const base = JSON.stringify(event).length;
  for (let n = 0; n < Math.max(0, Math.floor((bytes - base) / perSample)); n++) samples.push(sample(n));
  let json = JSON.stringify(event);
  // Sample lengths vary by a character or two: trim back to the size asked for.
  while (json.length > bytes && samples.length > 0) {
    samples.splice(-Math.max(1, Math.floor((json.length - bytes) / perSample)));
    json = JSON.stringify(event);
  }
  return json;
}

export const sizeLabel = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${+(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.round(bytes / 1024)} KB`;
