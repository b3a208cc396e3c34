#!/usr/bin/env node
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import process from 'node:process';
import { serveCluster } from './cluster/serve.ts';
import { type Config, parseCommandLine, USAGE } from './config.ts';
import { messageOf } from './error-message.ts';
import { runService } from './lifecycle.ts';
import { createLogger } from './log.ts';
import { progressBar } from './progress-bar.ts';
import { checkDataDir, startServer } from './server.ts';
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
    const { bar, options: progress } = terminalProgress();
    const options = { check: command.check, ...progress };
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
  // A data folder that is not there is a bad option like any other: one line, exit 2.
  const missing = await checkDataDir(command.config.dataDir).then(
    () => undefined,
    (error: unknown) => messageOf(error),
  );
  if (missing !== undefined) {
    process.stderr.write(`tilestamp: ${missing} (see tilestamp --help)\n`);
    return 2;
  }
  return command.config.workers > 1 ? serveCluster(command.config) : serve(command.config);
}

/** One process that does everything (`--workers 1`), run until a signal stops it. */
async function serve(config: Config): Promise<number> {
  const logger = createLogger(config.logLevel);
  const driver = await loadSqliteDriver();
  return runService(
    async () => {
      const server = await startServer(config, logger, driver);
      return {
        stop: () => server.close().then(() => 0),
        rescan() {
          logger.info({ signal: 'SIGHUP' }, 'rescanning every file');
          void server.rescan('SIGHUP', true);
        },
      };
    },
    {
      logger,
      shutdownTimeoutMs: config.shutdownTimeoutMs,
      onStartFailure: (message) => process.stderr.write(`tilestamp: ${message}\n`),
    },
  );
}

/** `tilestamp version FILE...`: what the server would publish for each file, for pipelines to log. */
async function printVersions(files: string[], versioning: VersionOptions): Promise<number> {
  const driver = await loadSqliteDriver();
  let failures = 0;
  for (const path of files) {
    const id = basename(path).replace(/\.mbtiles$/, '');
    const { bar, options: progress } = terminalProgress();
    try {
      const source = await loadMbtilesSource(driver, id, path, versioning, { acceptFreshCtime: true, ...progress });
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

/**
 * A progress bar on stderr for `version` and `stamp`, only for a person watching (never into a
 * pipe or a log file), and the options that feed it (none without a terminal).
 */
function terminalProgress() {
  const bar = process.stderr.isTTY ? progressBar(process.stderr) : undefined;
  return { bar, options: bar ? { onProgress: bar.show, progressEveryMs: 200 } : {} };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`tilestamp: ${messageOf(error)}\n`);
    process.exit(1);
  },
);
