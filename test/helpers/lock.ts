import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const BETTER_SQLITE3 = createRequire(import.meta.url).resolve('better-sqlite3');

/** The child: takes the lock, says so, and holds it until its stdin closes. */
const HOLDER = `
const db = new (require(process.argv[1]))(process.argv[2]);
db.exec('BEGIN EXCLUSIVE');
process.stdout.write('locked\\n');
process.stdin.resume();
process.stdin.on('end', () => { db.exec('COMMIT'); db.close(); process.exit(0); });
`;

/**
 * Holds an EXCLUSIVE lock on an SQLite file from another process (better-sqlite3 in a child
 * process), as a writer in the middle of a commit does. Resolves once the lock is held;
 * `release()` ends it and waits for the process to exit.
 */
export function holdExclusiveLock(path: string): Promise<{ release(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', HOLDER, BETTER_SQLITE3, path], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const failed = (code: number | null) => reject(new Error(`the lock holder exited with ${code}: ${stderr}`));
    child.once('exit', failed);
    child.stdout.on('data', (chunk: Buffer) => {
      if (!chunk.toString().includes('locked')) return;
      child.off('exit', failed);
      resolve({
        async release() {
          child.stdin.end();
          await exited;
        },
      });
    });
  });
}
