#!/usr/bin/env node
// Committed so that npm links the bin at install time; the code is the tool's bundle in dist
// (npm run build). Only the bundle itself missing is "not built": a missing package it imports
// is thrown as it is.
import('../dist/capi-launch.js').catch((err) => {
  if (
    err?.code === 'ERR_MODULE_NOT_FOUND' &&
    /^Cannot find module .*\/dist\/capi-launch\.js'/.test(String(err.message))
  ) {
    process.stderr.write('capi-launch: not built: run `npm run build` in the capi checkout\n');
    process.exitCode = 3;
  } else throw err;
});
