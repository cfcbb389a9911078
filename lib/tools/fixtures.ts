/**
 * Realistic Terra webhook bodies for the simulator and the tests: pure functions of their
 * options (seed, dates, ids), so the same inputs always produce byte-identical JSON.
 */
export * from './fixtures/common';
export * from './fixtures/activity';
export * from './fixtures/body';
export * from './fixtures/daily';
export * from './fixtures/sleep';
export * from './fixtures/events';
export * from './fixtures/scenario';
