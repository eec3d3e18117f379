import { runTool } from '@capi/core';
import command from './command.js';

await runTool(command, { name: 'capi-launch', version: '0.1.0' });
