// undici has no exports map; its Client module is loaded directly (see http-client.ts).
declare module 'undici/lib/dispatcher/client.js' {
  const Client: unknown;
  export default Client;
}
