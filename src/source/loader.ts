import type { Logger } from '../log.ts';
import { messageOf } from '../storage/mbtiles.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import { scanDataDir } from './discover.ts';
import { loadMbtilesSource } from './mbtiles-source.ts';
import type { Registry } from './registry.ts';
import type { VersionOptions } from './version.ts';

/**
 * The first scan: finds every file, marks it loading, then loads and versions them one after
 * another (each digest yields to the event loop, so the server answers meanwhile). A file that
 * fails is logged and listed as failed; the others are served. Marks the registry ready at the end.
 */
export async function loadDataDir(
  dir: string,
  driver: SqliteDriver,
  registry: Registry,
  logger: Logger,
  versioning: VersionOptions,
): Promise<void> {
  const scan = await scanDataDir(dir);
  for (const { path, reason } of scan.skipped) logger.warn({ path, reason }, 'file skipped');
  for (const { id, path } of scan.files) registry.set({ state: 'loading', id, path });
  for (const { id, path } of scan.files) {
    const started = performance.now();
    try {
      const source = await loadMbtilesSource(driver, id, path, versioning);
      registry.set({ state: 'ok', id, path, source, loadedAt: new Date(), warnings: source.warnings });
      for (const warning of source.warnings) logger.warn({ tileset: id, path }, warning);
      logger.info(
        {
          tileset: id,
          path,
          version: source.version,
          versionFrom: versioning.from,
          format: source.format,
          tiles: source.digest.tiles,
          bytes: source.digest.bytes,
          ms: Math.round(performance.now() - started),
        },
        'tileset loaded',
      );
    } catch (error) {
      const reason = messageOf(error);
      registry.set({ state: 'failed', id, path, reason, since: new Date() });
      logger.error({ tileset: id, path, reason }, 'tileset failed to load');
    }
  }
  registry.markReady();
  logger.info({ tilesets: scan.files.length, driver: driver.name }, 'ready');
}
