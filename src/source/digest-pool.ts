import { availableParallelism } from 'node:os';
import process from 'node:process';
import { Worker } from 'node:worker_threads';
import { isDeno } from '../storage/driver.ts';
import { DigestError, type DigestTask, type ToMain, type ToWorker } from './digest-protocol.ts';
import { type ContentDigest, combineRanges, type RangeDigest } from './digest-ranges.ts';

/** Hears how many more bytes were digested; called on the event loop, often. */
export type OnBytes = (bytes: number) => void;

export interface PoolOptions {
  /** Worker threads at most (default: the cores this process may use). */
  threads?: number;
  /** A worker idle this long is stopped, giving back its memory (default 10 s). */
  idleMs?: number;
}

/** Each idle digest thread holds about 25 MB (V8 heap, SQLite cache): stopped after this long. */
export const DIGEST_IDLE_MS = 10_000;

interface Job {
  id: number;
  path: string;
  ino: number;
  workers: Set<Slot>;
  onMessage(message: ToMain): void;
  fail(error: Error): void;
}

interface Slot {
  worker: Worker;
  busy: Job | undefined;
  idle: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Digests files on worker threads, so the event loop only hands out tasks and combines results.
 * A content digest is cut into its fixed key ranges (digest-ranges.ts), which idle workers take
 * one at a time: two cores finish a file in about half the time, and the version is the same
 * with one thread or many. Workers start on first use and do not keep the process alive when idle.
 */
export class DigestPool {
  readonly #threads: number;
  readonly #idleMs: number;
  readonly #slots: Slot[] = [];
  readonly #queue: { job: Job; task: DigestTask }[] = [];
  #nextJob = 1;
  #closed = false;

  constructor(options: PoolOptions = {}) {
    this.#threads = Math.max(1, options.threads ?? availableParallelism());
    this.#idleMs = options.idleMs ?? DIGEST_IDLE_MS;
  }

  get threads(): number {
    return this.#threads;
  }

  /** Worker threads running now (started on demand, stopped when idle). */
  get running(): number {
    return this.#slots.length;
  }

  /** The content digest (README, "Versions") of the MBTiles file at `path`, on inode `ino`. */
  digestContent(path: string, ino: number, onBytes?: OnBytes): Promise<ContentDigest> {
    return new Promise((resolve, reject) => {
      const results: RangeDigest[] = [];
      let pending = 0;
      const job = this.#job(path, ino, reject, (message) => {
        if (message.type === 'progress') onBytes?.(message.bytes);
        else if (message.type === 'ranges') {
          pending = message.ranges.length;
          for (const range of message.ranges) this.#enqueue(job, { kind: 'range', range });
        } else if (message.type === 'range') {
          results.push(message.range);
          pending -= 1;
        }
        if (message.type !== 'progress' && pending === 0) {
          this.#end(job);
          resolve(combineRanges(results));
        }
      });
      this.#enqueue(job, { kind: 'ranges' });
    });
  }

  /** SHA-256 (hex) of the raw bytes of the file at `path`, on inode `ino`. */
  digestFile(path: string, ino: number, onBytes?: OnBytes): Promise<{ digest: string; bytes: number }> {
    return new Promise((resolve, reject) => {
      const job = this.#job(path, ino, reject, (message) => {
        if (message.type === 'progress') onBytes?.(message.bytes);
        if (message.type !== 'file') return;
        this.#end(job);
        resolve({ digest: message.digest, bytes: message.bytes });
      });
      this.#enqueue(job, { kind: 'file' });
    });
  }

  /** Stops every worker; digests under way fail. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots.splice(0);
    for (const slot of slots) {
      clearTimeout(slot.idle);
      slot.busy?.fail(new Error('digest pool closed'));
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  #job(path: string, ino: number, reject: (error: Error) => void, onMessage: (message: ToMain) => void): Job {
    let failed = false;
    const job: Job = {
      id: this.#nextJob++,
      path,
      ino,
      workers: new Set(),
      onMessage,
      fail: (error) => {
        if (failed) return;
        failed = true;
        this.#end(job);
        reject(error);
      },
    };
    if (this.#closed) job.fail(new Error('digest pool closed'));
    return job;
  }

  /** Drops the job's queued tasks and lets its workers close their connections. */
  #end(job: Job): void {
    for (let i = this.#queue.length - 1; i >= 0; i--) if (this.#queue[i]?.job === job) this.#queue.splice(i, 1);
    for (const slot of job.workers) slot.worker.postMessage({ type: 'end', job: job.id } satisfies ToWorker);
    job.workers.clear();
  }

  #enqueue(job: Job, task: DigestTask): void {
    if (this.#closed) return;
    this.#queue.push({ job, task });
    this.#dispatch();
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.busy === undefined);
      if (slot === undefined && this.#slots.length < this.#threads) slot = this.#spawn();
      if (slot === undefined) return;
      const { job, task } = this.#queue.shift() as { job: Job; task: DigestTask };
      slot.busy = job;
      clearTimeout(slot.idle);
      slot.worker.ref();
      job.workers.add(slot);
      slot.worker.postMessage({ type: 'task', job: job.id, path: job.path, ino: job.ino, task } satisfies ToWorker);
    }
  }

  #spawn(): Slot {
    const worker = startWorker();
    const slot: Slot = { worker, busy: undefined, idle: undefined };
    worker.on('message', (message: ToMain) => {
      const job = slot.busy;
      if (job === undefined || message.job !== job.id) return;
      if (message.type === 'progress') return job.onMessage(message);
      slot.busy = undefined;
      worker.unref();
      if (message.type === 'error') job.fail(new DigestError(message.failure));
      else job.onMessage(message);
      this.#dispatch();
      if (slot.busy === undefined) slot.idle = setTimeout(() => this.#retire(slot), this.#idleMs).unref();
    });
    // A worker that dies takes its task with it: that digest fails, a new worker takes its place.
    const lost = (error: Error) => {
      const index = this.#slots.indexOf(slot);
      if (index < 0) return;
      this.#slots.splice(index, 1);
      slot.busy?.fail(error);
      this.#dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`digest worker exited with code ${code}`)));
    this.#slots.push(slot);
    return slot;
  }

  /** Stops an idle worker; the next digest starts a new one. */
  #retire(slot: Slot): void {
    const index = this.#slots.indexOf(slot);
    if (index < 0 || slot.busy !== undefined) return;
    this.#slots.splice(index, 1);
    void slot.worker.terminate();
  }
}

/**
 * Starts a digest worker on the module beside this one: compiled code (dist/) loads the compiled
 * worker, TypeScript sources load the TypeScript worker, so what runs is always the code beside
 * it, never a build that may be stale. Deno, and a Node that strips types itself, load it as it
 * is; on Node 20 (the tests run src/) the worker first registers module hooks that transpile
 * TypeScript (scripts/ts-worker-hooks.mjs, a development tool beside the sources).
 */
function startWorker(): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL('./digest-worker.js', self));
  const source = new URL('./digest-worker.ts', self);
  const stripsTypes = (process.features as { typescript?: unknown }).typescript;
  if (isDeno() || (typeof stripsTypes === 'string' && stripsTypes !== '')) return new Worker(source);
  const hooks = new URL('../../scripts/ts-worker-hooks.mjs', self);
  const boot = `import { register } from 'node:module'; register(${JSON.stringify(hooks.href)}); await import(${JSON.stringify(source.href)});`;
  return new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`));
}

let shared: DigestPool | undefined;

/** The process's pool, made on first use. */
export function sharedDigestPool(): DigestPool {
  shared ??= new DigestPool();
  return shared;
}
