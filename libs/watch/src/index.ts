// The public names of @capi/watch, for capi-watch.
export { openDashboard } from './open-dashboard.js';
export { formatJson, formatPlain, intervalPresenter } from './presenters.js';
export { summarize, type WatchOptions, watchRuns } from './watch.js';
