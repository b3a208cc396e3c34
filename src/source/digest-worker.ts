import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { loadSqliteDriver } from '../storage/driver.ts';
import type { Database, SqliteDriver } from '../storage/sqlite.ts';
import { failureOf, ReplacedError, type ToMain, type ToWorker } from './digest-protocol.ts';
import { digestRange, listRanges, PROGRESS_BYTES } from './digest-ranges.ts';

// A digest worker thread: takes one task at a time from the pool (list a file's key ranges,
// digest one range, hash a raw file) and answers with the result. It keeps one read-only
// connection per job, opened on its first task and checked to be on the inode the job names,
// so a file renamed over mid-digest is never mixed into the version of the one being digested.

/** The digest threads' nice value (0 normal, 19 lowest). */
const WORKER_NICE = 10;

const port = parentPort;
if (port === null) throw new Error('digest-worker runs only as a worker thread');

// Digesting is background work: below the event loop's thread in the scheduler, so requests are
// answered first when the cores are busy. On Linux a nice value is per thread, and pid 0 names
// the calling thread; where that is not so, or not allowed, the worker runs at normal priority.
try {
  setPriority(0, WORKER_NICE);
} catch {
  // not permitted here: normal priority
}

const connections = new Map<number, Database>();
// Loaded before the first message is taken (messages wait in the port until a listener is added),
// so every task runs synchronously: an `end` can never slip in while a task opens its connection.
const driver: SqliteDriver = await loadSqliteDriver();

port.on('message', (message: ToWorker) => {
  if (message.type === 'end') {
    connections.get(message.job)?.close();
    connections.delete(message.job);
    return;
  }
  let reply: ToMain;
  try {
    reply = run(message);
  } catch (error) {
    reply = { type: 'error', job: message.job, failure: failureOf(error) };
  }
  port.postMessage(reply);
});

function run(message: Extract<ToWorker, { type: 'task' }>): ToMain {
  const { job, task } = message;
  const progress = (bytes: number) => port?.postMessage({ type: 'progress', job, bytes } satisfies ToMain);
  if (task.kind === 'file') return { type: 'file', job, ...hashFile(message.path, message.ino, progress) };
  const db = connect(message.job, message.path, message.ino);
  if (task.kind === 'ranges') return { type: 'ranges', job, ranges: listRanges(db) };
  return { type: 'range', job, range: digestRange(db, task.range, progress) };
}

function connect(job: number, path: string, ino: number): Database {
  const open = connections.get(job);
  if (open !== undefined) return open;
  const db = driver.openReadOnly(path);
  if (statSync(path).ino !== ino) {
    db.close();
    throw new ReplacedError('replaced while being versioned');
  }
  connections.set(job, db);
  return db;
}

/** SHA-256 of the raw file, read in 4 MiB blocks into one buffer (no stream, no copies). */
function hashFile(path: string, ino: number, progress: (bytes: number) => void): { digest: string; bytes: number } {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).ino !== ino) throw new ReplacedError('replaced while being versioned');
    const hash = createHash('sha256');
    const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
    let bytes = 0;
    let reported = 0;
    for (;;) {
      const read = readSync(fd, buffer, 0, buffer.length, null);
      if (read === 0) break;
      hash.update(buffer.subarray(0, read));
      bytes += read;
      if (bytes - reported >= PROGRESS_BYTES) {
        progress(bytes - reported);
        reported = bytes;
      }
    }
    if (bytes > reported) progress(bytes - reported);
    return { digest: hash.digest('hex'), bytes };
  } finally {
    closeSync(fd);
  }
}
