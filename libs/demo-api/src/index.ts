export type { AuthCounters } from './context.js';
export { type Item, itemFor, maxItemId, parseItemId } from './item.js';
export type { ItemStoreCounts } from './item-store.js';
export type { DemoApi, DemoApiOptions, DemoApiStats } from './options.js';
export { startDemoApi } from './server.js';
