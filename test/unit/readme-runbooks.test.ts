import { readFileSync } from 'node:fs';
import { runbooks } from '../../lib/constructs/monitoring';

/** Every alarm's description links README.md#<anchor>: each anchor must be a heading there. */
const headings = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('#'))
  .map((line) => line.replace(/^#+\s*/, ''));

test.each(Object.values(runbooks))('the README has the runbook "$title" the alarms link to', ({ title }) => {
  expect(headings).toContain(title);
});
