// Placeholder until the demo API and capi-exec land: `npm start` runs what exists.
console.error('capi: the demo run needs capi-exec, which is not built yet');
process.exitCode = 2;
