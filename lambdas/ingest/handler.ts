// Placeholder: replaced by the real ingest handler.
export const handler = async () => ({ statusCode: 503, body: '{}' });
