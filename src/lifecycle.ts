import process from 'node:process';
import { messageOf } from './error-message.ts';
import type { Logger } from './log.ts';

/** A started process role: the single server, the primary of `--workers N`, or one of its workers. */
export interface Service {
  /** Stops: no new connections, requests in flight finish. Resolves with the exit code. */
  stop(signal: string): Promise<number>;
  /** SIGHUP: look at every file again. */
  rescan(): void;
}

export interface LifecycleOptions {
  logger: Logger;
  /** `--shutdown-timeout`: whatever still runs this long plus 2 s after a stop began ends with the process. */
  shutdownTimeoutMs: number;
  /** Fields every line of this role carries (a worker says which it is). */
  fields?: Record<string, unknown>;
  /** Called with a start-up failure after it is logged (the CLI says it on stderr too). */
  onStartFailure?: (message: string) => void;
  /** Where signals come from (default: this process; tests pass an emitter). */
  signals?: { on(signal: 'SIGTERM' | 'SIGINT' | 'SIGHUP', listener: () => void): unknown };
}

/**
 * How every role of the server runs, written once: signal handlers are installed before anything
 * starts (a SIGTERM during start-up is a shutdown, not a kill); SIGTERM and SIGINT stop it once
 * (a second signal, as `deno task` forwards the one its group already got, must not fall through
 * to the default action mid-shutdown); SIGHUP rescans; a stop asked for during start-up runs as
 * soon as the service exists; a start-up failure is logged and exits 1; a stop that outlives the
 * shutdown deadline by 2 s ends the process (exit 0). `start` gets the stop function, for a stop
 * that comes from elsewhere than a signal (a worker told by its primary).
 * Resolves with the exit code.
 */
export async function runService(
  start: (stop: (signal: string) => void) => Promise<Service>,
  options: LifecycleOptions,
): Promise<number> {
  const { logger, fields } = options;
  let service: Service | undefined;
  let signalled: string | undefined;
  let stopping = false;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const stop = (signal: string) => {
    signalled ??= signal;
    if (service === undefined || stopping) return;
    stopping = true;
    logger.info({ ...fields, signal }, 'shutting down: finishing requests in flight');
    setTimeout(() => {
      logger.warn({ ...fields, shutdownTimeoutMs: options.shutdownTimeoutMs }, 'shutdown deadline passed: exiting now');
      finish(0);
    }, options.shutdownTimeoutMs + 2_000).unref();
    service.stop(signal).then(finish, (error: unknown) => {
      logger.error({ ...fields, err: messageOf(error) }, 'shutdown failed');
      finish(1);
    });
  };
  const signals = options.signals ?? process;
  signals.on('SIGTERM', () => stop('SIGTERM'));
  signals.on('SIGINT', () => stop('SIGINT'));
  signals.on('SIGHUP', () => service?.rescan());
  try {
    service = await start(stop);
  } catch (error) {
    logger.error({ ...fields, err: messageOf(error) }, 'cannot start');
    options.onStartFailure?.(messageOf(error));
    return 1;
  }
  if (signalled !== undefined) stop(signalled);
  return finished;
}
