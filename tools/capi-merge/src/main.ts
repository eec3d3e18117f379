import { notBuiltYet } from '@capi/core';

notBuiltYet({ name: 'capi-merge', version: '0.1.0' }, 'It will merge result journals into reports (JSON, CSV, summary, JUnit, HTML).');
