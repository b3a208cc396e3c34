// Runs wrk from outside the servers' processes, over bench/walk.lua, and reads its JSON line.
import { fileURLToPath } from 'node:url';
import { runToEnd } from './processes.mjs';

const WALK = fileURLToPath(new URL('../walk.lua', import.meta.url));

/** Whether `wrk` is on PATH; the benchmark stops with how to install it when not. */
export async function haveWrk() {
  const { code, stdout, stderr } = await runToEnd('wrk', ['-v'], { timeoutMs: 5_000 });
  return code !== 127 && /wrk/.test(stdout + stderr);
}

/**
 * One wrk run against 127.0.0.1:`port` walking `urlFile`; resolves
 * `{ rps, p50Ms, p99Ms, requests, errors }` (errors: non-2xx/3xx answers, timeouts, socket errors).
 */
export async function runWrk(port, urlFile, { threads, connections, seconds, acceptEncoding, seed = 1 }) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, '--timeout', '5s', '-s', WALK];
  if (acceptEncoding) args.push('-H', `Accept-Encoding: ${acceptEncoding}`);
  args.push(`http://127.0.0.1:${port}`, '--', urlFile, String(seed));
  const { code, stdout, stderr } = await runToEnd('wrk', args, { timeoutMs: (seconds + 20) * 1000 });
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
  if (code !== 0 || line === undefined) throw new Error(`wrk failed (code ${code}): ${(stderr || stdout).trim().slice(-300)}`);
  const r = JSON.parse(line.slice('BENCH_RESULT '.length));
  const errors = Object.values(r.errors).reduce((a, b) => a + b, 0);
  return {
    rps: r.requests / (r.durationUs / 1e6),
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    requests: r.requests,
    bytes: r.bytes,
    errors,
    errorKinds: r.errors,
  };
}
