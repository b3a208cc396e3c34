// The part of @mapbox/mbtiles (untyped) the tests use: writing fixtures and cross-checking reads.
declare module '@mapbox/mbtiles' {
  type Callback<T = unknown> = (error: Error | null, value: T) => void;
  export default class MBTiles {
    constructor(uri: string, callback: Callback<MBTiles>);
    startWriting(callback: Callback): void;
    stopWriting(callback: Callback): void;
    putInfo(info: Record<string, unknown>, callback: Callback): void;
    putTile(z: number, x: number, y: number, data: Buffer, callback: Callback): void;
    getTile(z: number, x: number, y: number, callback: Callback<Buffer>): void;
    close(callback: Callback): void;
  }
}
