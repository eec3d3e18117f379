#!/usr/bin/env node
// Committed so that npm links the bin at install time; the code lives in dist (npm run build).
import('../dist/capi-exec.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/capi-exec.js')) {
    process.stderr.write('capi-exec: not built: run `npm run build` in the capi checkout\n');
    process.exitCode = 3;
  } else throw err;
});
