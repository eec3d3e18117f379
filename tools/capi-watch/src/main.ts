import { notBuiltYet } from '@capi/core';

notBuiltYet({ name: 'capi-watch', version: '0.1.0' }, 'It will show a live dashboard of a run.');
