export { KNOWN_COLUMNS } from './columns.js';
export type { InputFormat, SplitOptions, SuiteBytes } from './options.js';
export { serializeTestRecord } from './serialize.js';
export { splitSuite, splitSuiteBatches } from './split-suite.js';
export { type WriteBatchesOptions, writeBatches } from './write-batches.js';
