import { describe, expect, it } from 'vitest';
import { type BaseUrlInput, baseUrl } from '../../src/http/base-url.ts';
import { HttpError } from '../../src/http/errors.ts';

const request = (over: Partial<BaseUrlInput>): BaseUrlInput => ({
  publicUrl: undefined,
  trustProxy: false,
  protocol: 'http',
  host: 'localhost:8080',
  forwardedPrefix: undefined,
  ...over,
});

/** The error `fn` throws, or undefined when it returns. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('baseUrl', () => {
  it.each<[string, Partial<BaseUrlInput>, string]>([
    ['from the request', {}, 'http://localhost:8080'],
    ['https request', { protocol: 'https', host: 'tiles.example.com' }, 'https://tiles.example.com'],
    ['IPv4 host with port', { host: '192.168.1.10:3000' }, 'http://192.168.1.10:3000'],
    ['IPv6 host with port', { host: '[::1]:8080' }, 'http://[::1]:8080'],
    ['IPv6 host without port', { host: '[2001:db8::1]' }, 'http://[2001:db8::1]'],
    [
      'publicUrl wins over the request',
      { publicUrl: 'https://cdn.example.com/maps', host: 'internal:8080' },
      'https://cdn.example.com/maps',
    ],
    [
      'publicUrl wins even over a forged Host',
      { publicUrl: 'https://cdn.example.com', host: 'evil.com/x' },
      'https://cdn.example.com',
    ],
    [
      'publicUrl wins over a forwarded prefix',
      { publicUrl: 'https://cdn.example.com', trustProxy: true, forwardedPrefix: '/other' },
      'https://cdn.example.com',
    ],
    ['prefix behind a trusted proxy', { trustProxy: true, forwardedPrefix: '/maps' }, 'http://localhost:8080/maps'],
    ['prefix with a trailing slash', { trustProxy: true, forwardedPrefix: '/maps/' }, 'http://localhost:8080/maps'],
    ['prefix of two segments', { trustProxy: true, forwardedPrefix: '/a/b-c_d.e~f' }, 'http://localhost:8080/a/b-c_d.e~f'],
    ['empty prefix behind a trusted proxy', { trustProxy: true, forwardedPrefix: '' }, 'http://localhost:8080'],
    ['a lone slash is the root: no prefix', { trustProxy: true, forwardedPrefix: '/' }, 'http://localhost:8080'],
    ['two slashes are the root too', { trustProxy: true, forwardedPrefix: '//' }, 'http://localhost:8080'],
    ['the highest port', { host: 'a:65535' }, 'http://a:65535'],
    ['prefix ignored without trustProxy', { trustProxy: false, forwardedPrefix: '/maps' }, 'http://localhost:8080'],
    ['bad prefix ignored without trustProxy', { trustProxy: false, forwardedPrefix: '//evil.com' }, 'http://localhost:8080'],
  ])('%s → %s', (_name, over, expected) => {
    expect(baseUrl(request(over))).toBe(expected);
  });

  it.each([
    ['a path in Host', 'evil.com/x'],
    ['a space in Host', 'a b'],
    ['empty Host', ''],
    ['userinfo in Host', 'user@evil.com'],
    ['a query in Host', 'evil.com?x'],
    ['a fragment in Host', 'evil.com#x'],
    ['a port of six digits', 'localhost:123456'],
    ['a port without digits', 'localhost:'],
    ['a port above 65535', 'a:99999'],
    ['port 0', 'a:0'],
    ['an IPv6 host with a port above 65535', '[::1]:70000'],
    ['HTML in Host', '"><script>'],
    ['IPv6 without brackets', '::1'],
    ['a bracket that does not close', '[::1'],
    ['two hosts', 'a.com,b.com'],
    ['a newline', 'a.com\nb'],
  ])('%s (%j) → HttpError 400', (_name, host) => {
    const thrown = thrownBy(() => baseUrl(request({ host })));
    expect(thrown).toBeInstanceOf(HttpError);
    expect(thrown).toMatchObject({ status: 400, expose: true });
  });

  it.each([
    ['protocol-relative', '//evil.com'],
    ['no leading slash', 'maps'],
    ['a full URL', 'https://evil.com/'],
    ['a space', '/my maps'],
    ['a quote', '/"onload="x'],
    ['a query', '/maps?x=1'],
    ['an empty segment', '/a//b'],
    ['a dot-dot segment', '/a/../b'],
    ['a dot segment', '/./maps'],
  ])('a forwarded prefix with %s (%j) → HttpError 400 behind a trusted proxy', (_name, forwardedPrefix) => {
    const thrown = thrownBy(() => baseUrl(request({ trustProxy: true, forwardedPrefix })));
    expect(thrown).toBeInstanceOf(HttpError);
    expect(thrown).toMatchObject({ status: 400 });
  });

  it.each([['javascript:alert(document.domain)//'], ['ftp'], ['HTTP '], ['']])(
    'a protocol of %j (X-Forwarded-Proto behind a trusted proxy) → HttpError 400',
    (protocol) => {
      const thrown = thrownBy(() => baseUrl(request({ trustProxy: true, protocol })));
      expect(thrown).toBeInstanceOf(HttpError);
      expect(thrown).toMatchObject({ status: 400 });
    },
  );
});
