// Apart from command.ts so that main.ts can answer --version without loading the command.
export const info = { name: 'capi-watch', version: '0.1.0' };
