import { afterEach, describe, expect, it, vi } from 'vitest';
// @ts-expect-error: a plain browser module, without types
import { followLeafletLayer } from '../../static/tilestamp.js';

// The browser client reads tileset ids out of the server's JSON: `constructor` or `__proto__`
// must be looked up as data, never resolve to Object's own members.

/** A stand-in EventSource that delivers the `versions` events a test hands it. */
class FakeEventSource {
  static last: FakeEventSource | undefined;
  readonly listeners = new Map<string, (event: { data: string }) => void>();
  constructor(readonly url: string) {
    FakeEventSource.last = this;
  }
  addEventListener(type: string, listener: (event: { data: string }) => void): void {
    this.listeners.set(type, listener);
  }
  close(): void {}
  send(tilesets: string): void {
    this.listeners.get('versions')?.({ data: `{"version":"x","tilesets":${tilesets}}` });
  }
}

afterEach(() => vi.unstubAllGlobals());

describe('followLeafletLayer and tileset ids', () => {
  it.each(['constructor', '__proto__', 'toString'])('a layer on tileset %s that the server does not list keeps its URL', (id) => {
    vi.stubGlobal('EventSource', FakeEventSource);
    const layer = { _url: `http://h/tiles/${id}/{z}/{x}/{y}.pbf?v=aaaa`, setUrl: vi.fn() };
    followLeafletLayer(layer, { server: 'http://h' });
    FakeEventSource.last?.send('{"other":"bbbb"}');
    expect(layer.setUrl).not.toHaveBeenCalled();
  });

  it.each(['constructor', '__proto__'])('a layer on tileset %s follows its new version', (id) => {
    vi.stubGlobal('EventSource', FakeEventSource);
    const layer = { _url: `http://h/tiles/${id}/{z}/{x}/{y}.pbf?v=aaaa`, setUrl: vi.fn() };
    followLeafletLayer(layer, { server: 'http://h' });
    FakeEventSource.last?.send(`{"${id}":"bbbb"}`);
    expect(layer.setUrl).toHaveBeenCalledWith(`http://h/tiles/${id}/{z}/{x}/{y}.pbf?v=bbbb`);
  });
});
