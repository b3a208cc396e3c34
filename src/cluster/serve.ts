import cluster from 'node:cluster';
import process from 'node:process';
import type { Config } from '../config.ts';
import { runService } from '../lifecycle.ts';
import { createLogger, type Logger } from '../log.ts';
import { isDeno, loadSqliteDriver } from '../storage/driver.ts';
import type { SqliteDriver } from '../storage/sqlite.ts';
import { runPrimary } from './primary.ts';
import type { WorkerMessage } from './protocol.ts';
import { runWorker, workerSlot } from './worker.ts';

/**
 * `tilestamp serve --workers N` (N > 1): this process becomes the primary and forks N workers
 * that run this same command and share its port. Resolves with the exit code.
 */
export async function serveCluster(config: Config): Promise<number> {
  if (isDeno()) {
    // Deno's node:cluster forks and shares the port, but under load our tests saw workers miss
    // the switch to a new version and connections go unanswered: refused until that is understood.
    process.stderr.write(
      `tilestamp: --workers ${config.workers} is not supported under Deno (its node:cluster is not reliable under load here); run one process per container, or Node\n`,
    );
    return 2;
  }
  const logger = createLogger(config.logLevel);
  const driver = await loadSqliteDriver();
  return cluster.isPrimary ? servePrimary(config, logger, driver) : serveWorker(config, logger, driver);
}

function servePrimary(config: Config, logger: Logger, driver: SqliteDriver): Promise<number> {
  return runService(
    async (stop) => {
      const primary = await runPrimary(config, logger, driver, stop);
      // Each worker turns a SIGHUP it gets into a rescan request too; the primary's own is the one operators send.
      return { stop: (signal) => primary.stop(signal), rescan: () => primary.rescan('SIGHUP') };
    },
    {
      logger,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      fields: { workers: config.workers },
      onStartFailure: (message) => process.stderr.write(`tilestamp: ${message}\n`),
    },
  );
}

/** A worker stops when the primary says so (with the signal the primary got), or on a signal of its own (Ctrl-C reaches the group). */
function serveWorker(config: Config, logger: Logger, driver: SqliteDriver): Promise<number> {
  return runService(
    async (stop) => {
      const http = await runWorker(config, logger, driver, stop);
      return {
        async stop() {
          await http.close();
          http.registry.closeAll();
          return 0;
        },
        rescan: () => process.send?.({ type: 'tilestamp:rescan', reason: 'SIGHUP' } satisfies WorkerMessage),
      };
    },
    { logger, shutdownTimeoutMs: config.shutdownTimeoutMs, fields: { worker: workerSlot(), pid: process.pid } },
  );
}
