import cluster from 'node:cluster';
import process from 'node:process';
import type { Config } from '../config.ts';
import { messageOf } from '../error-message.ts';
import { createLogger } from '../log.ts';
import { isDeno, loadSqliteDriver } from '../storage/driver.ts';
import { runPrimary } from './primary.ts';
import { runWorker } from './worker.ts';

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
  if (cluster.isPrimary) {
    let primary: Awaited<ReturnType<typeof runPrimary>> | undefined;
    let pending: string | undefined;
    // Installed before anything starts: a SIGTERM during start-up is a shutdown, not a kill.
    const stop = (signal: string) => {
      if (primary) primary.stop(signal);
      else pending ??= signal;
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    // Each worker turns SIGHUP into a rescan request too; the primary's own is the one operators send.
    process.on('SIGHUP', () => primary?.rescan('SIGHUP'));
    try {
      primary = await runPrimary(config, logger, driver);
    } catch (error) {
      logger.error({ err: messageOf(error) }, 'cannot start');
      process.stderr.write(`tilestamp: ${messageOf(error)}\n`);
      return 1;
    }
    if (pending !== undefined) primary.stop(pending);
    return primary.done;
  }
  return new Promise((resolve) => {
    let stopping = false;
    let http: Awaited<ReturnType<typeof runWorker>> | undefined;
    const stop = (why: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal: why, pid: process.pid }, 'worker shutting down: finishing requests in flight');
      void (http?.close() ?? Promise.resolve()).then(() => {
        http?.registry.closeAll();
        resolve(0);
      });
    };
    // A signal sent to the whole group (Ctrl-C) reaches workers too: they stop the same way.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => process.send?.({ type: 'tilestamp:rescan', reason: 'SIGHUP' }));
    runWorker(config, logger, driver, () => stop('primary')).then(
      (running) => {
        http = running;
        if (stopping) stop('primary');
      },
      (error: Error) => {
        logger.error({ err: error.message }, 'worker cannot start');
        resolve(1);
      },
    );
  });
}
