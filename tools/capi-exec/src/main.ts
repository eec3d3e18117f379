import { notBuiltYet } from '@capi/core';

notBuiltYet({ name: 'capi-exec', version: '0.1.0' }, 'It will run test records against an HTTP API (see docs/ and the open issues).');
