// Apart from command.ts so that main.ts can answer --version without loading the command.
export const info = { name: 'capi-merge', version: '0.1.0', variadic: true };
