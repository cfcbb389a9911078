/**
 * `npm run inspect -- <user_id> [--type activity] [--events] [--stack TerraIngest --region eu-west-2]`
 * Local stack by default; with --stack, the deployed stack's tables (usual AWS credentials).
 */
import { parseArgs } from 'node:util';
import { countEvents, formatEventCounts, formatRequest, formatUserReport, loadRequest, loadUser } from '../lib/tools/inspect';
import { deployedTarget, localTarget } from '../lib/tools/tables';

const usage =
  'usage: npm run inspect -- <user_id> [--type TYPE] [--events] [--request TERRA_REFERENCE] [--stack STACK_NAME] [--region REGION]';

async function main() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      type: { type: 'string' },
      events: { type: 'boolean', default: false },
      request: { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [userId] = positionals;
  if (values.help || (!userId && !values.events && !values.request)) {
    console.log(usage);
    process.exit(values.help ? 0 : 2);
  }
  const target = values.stack ? await deployedTarget(values.stack, values.region) : localTarget();
  try {
    if (userId) console.log(formatUserReport(userId, await loadUser(target, userId, values.type), target.description));
    if (values.events) console.log(`\n${formatEventCounts(await countEvents(target))}`);
    if (values.request) console.log(`\n${formatRequest(values.request, await loadRequest(target, values.request))}`);
  } finally {
    target.documentClient.destroy();
    target.s3.destroy();
  }
}

main().catch((error) => {
  const message = (error as Error).message;
  console.error(`inspect failed: ${message}`);
  if (/ECONNREFUSED/.test(String((error as { cause?: unknown }).cause ?? message)) || /ECONNREFUSED/.test(message)) {
    console.error('Is the local stack running? Start it with `npm start` (or pass --stack for a deployed one).');
  }
  process.exit(1);
});
