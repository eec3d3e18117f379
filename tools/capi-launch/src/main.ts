import { notBuiltYet } from '@capi/core';

notBuiltYet({ name: 'capi-launch', version: '0.1.0' }, 'It will start and supervise runs in the background (nohup, screen, tmux).');
