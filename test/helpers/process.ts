import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { REPO } from './fixtures.ts';

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  /** Every stdout line so far (JSON log lines). */
  stdout: string[];
  stderr: () => string;
  /** Sends SIGTERM to the process group and resolves with the leader's exit code. */
  stop(): Promise<number | null>;
}

/**
 * Spawns a tilestamp server process (`command args`) from `cwd` (the repository root), waits for its
 * "listening" log line and then (unless `untilReady` is false) for /ready, and returns its URL.
 * Fails after `timeoutMs`.
 */
export function spawnServer(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
  cwd = REPO,
  untilReady = true,
): Promise<ServerProcess> {
  // A process group of its own, so stop() also reaches what a wrapper (npm, deno task) started.
  const child = spawn(command, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const stdout: string[] = [];
  let stderr = '';
  let buffered = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup(child.pid, 'SIGKILL');
      reject(new Error(`no "listening" line within ${timeoutMs} ms; stderr: ${stderr}; stdout: ${stdout.join('\n')}`));
    }, timeoutMs);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        stdout.push(line);
        const parsed = tryJson(line);
        if (parsed?.msg === 'listening' && typeof parsed.url === 'string') {
          const url = parsed.url;
          (untilReady ? waitReady(url, timeoutMs) : Promise.resolve()).then(() => {
            clearTimeout(timer);
            resolve({
              child,
              url,
              stdout,
              stderr: () => stderr,
              stop: () => {
                killGroup(child.pid, 'SIGTERM');
                return exited;
              },
            });
          }, reject);
        }
      }
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

async function waitReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/ready`).catch(() => undefined);
    if (res?.status === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url}/ready never answered 200`);
}

function tryJson(line: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * What each process of the tree under `root` (itself included) is doing, one line each, from
 * /proc (Linux): state, CPU seconds so far, the kernel function it sleeps in, and the state of
 * each of its threads. For a timeout's message: a process spinning, blocked in the kernel or
 * idle is told apart.
 */
export function processTree(root: number): string {
  const stats = new Map<number, string[]>();
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return '(no /proc here)';
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      stats.set(Number(name), stat.slice(stat.lastIndexOf(')') + 2).split(' '));
    } catch {
      // gone meanwhile
    }
  }
  const lines: string[] = [];
  const seen = new Set<number>(); // a pid reused while /proc was read must not make a cycle
  const visit = (pid: number, depth: number) => {
    const fields = stats.get(pid);
    if (fields === undefined) return void lines.push(`${pid} gone`);
    seen.add(pid);
    const read = (path: string, pick: (text: string) => string) => {
      try {
        return pick(readFileSync(path, 'utf8'));
      } catch {
        return '?'; // gone meanwhile
      }
    };
    const wchan = read(`/proc/${pid}/wchan`, (text) => text || '-');
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      // gone meanwhile
    }
    const threads = tids.map((tid) => read(`/proc/${pid}/task/${tid}/stat`, (t) => t.slice(t.lastIndexOf(')') + 2)[0] ?? '?'));
    const detail = ` wchan ${wchan} threads ${threads.join('')}`;
    const cpu = (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks of 1/100 s, Linux's USER_HZ
    lines.push(`${'  '.repeat(depth)}${pid} state ${fields[0]} cpu ${cpu}s${detail}`);
    for (const [child, childFields] of stats) {
      if (Number(childFields[1]) === pid && !seen.has(child)) visit(child, depth + 1);
    }
  };
  visit(root, 0);
  return lines.join('\n');
}
