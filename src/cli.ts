#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import process from 'node:process';
import { serveCluster } from './cluster/serve.ts';
import { type Config, parseCommandLine, USAGE } from './config.ts';
import { messageOf } from './error-message.ts';
import { createLogger } from './log.ts';
import { progressBar } from './progress-bar.ts';
import { shutdownBackstop, startServer } from './server.ts';
import { loadMbtilesSource } from './source/mbtiles-source.ts';
import type { VersionOptions } from './source/version.ts';
import { stampFiles } from './stamp.ts';
import { loadSqliteDriver } from './storage/driver.ts';

/** Entry point of the `tilestamp` command (Node: dist/cli.js; Deno: src/cli.ts). */
async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv, process.env, availableParallelism());
  if (!parsed.ok) {
    process.stderr.write(`tilestamp: ${parsed.error} (see tilestamp --help)\n`);
    return 2;
  }
  const { command } = parsed;
  if (command.name === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command.name === 'version') return printVersions(command.files, command.versioning);
  if (command.name === 'stamp') {
    // A progress bar only for a person watching, as for `version`: never into a pipe or a log file.
    const bar = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
    const options = { check: command.check, ...(bar && { onProgress: bar.show, progressEveryMs: 200 }) };
    return stampFiles(await loadSqliteDriver(), command.files, options, {
      out: (line) => {
        bar?.clear();
        process.stdout.write(`${line}\n`);
      },
      err: (line) => {
        bar?.clear();
        process.stderr.write(`${line}\n`);
      },
    });
  }
  return command.config.workers > 1 ? serveCluster(command.config) : serve(command.config);
}

async function serve(config: Config): Promise<number> {
  const logger = createLogger(config.logLevel);
  const driver = await loadSqliteDriver();
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  let signalled: string | undefined;
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const stop = (signal: string) => {
    // `on`, not `once`: a second signal (deno task forwards the one its group already got)
    // must not fall through to the default action and kill the process mid-shutdown.
    if (signalled !== undefined || server === undefined) {
      signalled ??= signal; // during start-up: stop as soon as the server exists
      return;
    }
    signalled = signal;
    logger.info({ signal }, 'shutting down: finishing requests in flight');
    shutdownBackstop(config, logger, () => finish(0));
    server.close().then(
      () => finish(0),
      () => finish(1),
    );
  };
  // Installed before anything starts: a SIGTERM during start-up is a shutdown, not a kill.
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    logger.info({ signal: 'SIGHUP' }, 'rescanning every file');
    void server?.rescan('SIGHUP', true);
  });
  try {
    server = await startServer(config, logger, driver);
  } catch (error) {
    logger.error({ err: messageOf(error) }, 'cannot start');
    process.stderr.write(`tilestamp: ${messageOf(error)}\n`);
    return 1;
  }
  if (signalled !== undefined) {
    const signal = signalled;
    signalled = undefined;
    stop(signal);
  }
  return finished;
}

/** `tilestamp version FILE...`: what the server would publish for each file, for pipelines to log. */
async function printVersions(files: string[], versioning: VersionOptions): Promise<number> {
  const driver = await loadSqliteDriver();
  let failures = 0;
  for (const path of files) {
    const id = basename(path).replace(/\.mbtiles$/, '');
    // A progress bar only for a person watching: never into a pipe or a log file.
    const bar = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
    try {
      const source = await loadMbtilesSource(driver, id, path, versioning, {
        acceptFreshCtime: true,
        ...(bar && { onProgress: bar.show, progressEveryMs: 200 }),
      });
      bar?.clear();
      source.close();
      process.stdout.write(`${source.version}  ${id}  ${path}\n`);
    } catch (error) {
      bar?.clear();
      failures += 1;
      process.stderr.write(`tilestamp: ${path}: ${messageOf(error)}\n`);
    }
  }
  return failures === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`tilestamp: ${messageOf(error)}\n`);
    process.exit(1);
  },
);
