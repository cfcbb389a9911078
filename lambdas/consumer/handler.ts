// Placeholder: replaced by the real consumer handler.
export const handler = async () => ({ batchItemFailures: [] });
