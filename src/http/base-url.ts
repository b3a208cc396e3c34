import { HttpError } from './errors.ts';

/** What the base URL is built from: the request as Koa sees it, and the server's settings. */
export interface BaseUrlInput {
  publicUrl: string | undefined;
  trustProxy: boolean;
  /** ctx.protocol and ctx.host: Koa already reads X-Forwarded-Proto/-Host when app.proxy is on. */
  protocol: string;
  host: string;
  forwardedPrefix: string | undefined;
}

const HOST = /^[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$/;
const PREFIX = /^(\/[A-Za-z0-9._~-]+)+\/?$/;
const PROTOCOLS = new Set(['http', 'https']);

/**
 * The `{base}` of published URLs: --public-url when set, else scheme and host of the request
 * (plus X-Forwarded-Prefix behind a trusted proxy). Values that are not a plain host name, http
 * or https, or a plain path are refused (400), so no header can smuggle markup or a script URL
 * into TileJSON or the index. Any well-formed host is echoed: in production, --public-url.
 */
export function baseUrl(input: BaseUrlInput): string {
  if (input.publicUrl !== undefined) return input.publicUrl;
  if (!HOST.test(input.host) || !validPort(input.host)) throw new HttpError(400, 'the Host header is not a valid host name');
  if (!PROTOCOLS.has(input.protocol)) throw new HttpError(400, 'X-Forwarded-Proto must be http or https');
  let prefix = '';
  // `/` (or `//`) is the root: no prefix at all.
  if (input.trustProxy && input.forwardedPrefix !== undefined && !/^\/*$/.test(input.forwardedPrefix)) {
    const segments = input.forwardedPrefix.split('/');
    if (!PREFIX.test(input.forwardedPrefix) || segments.includes('.') || segments.includes('..')) {
      throw new HttpError(400, 'X-Forwarded-Prefix is not a valid path');
    }
    prefix = input.forwardedPrefix.replace(/\/$/, '');
  }
  return `${input.protocol}://${input.host}${prefix}`;
}

/** A port in the Host header, when there is one, must be one a URL can name: 1 to 65535. */
function validPort(host: string): boolean {
  const port = /:([0-9]+)$/.exec(host)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}
