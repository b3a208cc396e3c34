// The `fresh` package Koa ships (and whose test `ctx.fresh` is): whether a cached answer a request
// names by its validators is still the one that would be sent. No @types package is installed.
declare module 'fresh' {
  function fresh(
    requestHeaders: Record<string, string | string[] | undefined>,
    responseHeaders: Record<string, string | undefined>,
  ): boolean;
  export default fresh;
}
