// Child processes of the benchmark: each server in its own process group, so that it and every
// child it forks (cluster workers) can be measured (RSS) and killed as one, even on Ctrl-C or error.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

/** Process groups still alive, killed by `killAll` (on exit, Ctrl-C, error). */
const groups = new Set();

/** Kills every process group this benchmark started (SIGKILL: nothing of theirs is worth keeping). */
export function killAll() {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
}

function killGroup(pid, signal) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Kills the children on any way out: normal exit, Ctrl-C, SIGTERM, an uncaught error. */
export function killChildrenOnExit() {
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      process.stderr.write(`\nbench: ${signal}, stopping the servers\n`);
      killAll();
      process.exit(130);
    });
  }
  process.on('uncaughtException', (error) => {
    process.stderr.write(`bench: ${error?.stack ?? error}\n`);
    killAll();
    process.exit(1);
  });
}

/**
 * Starts `command` in its own process group. Resolves `exited` with the exit code; keeps the last
 * 4 KiB of stderr+stdout for error messages (servers run at `warn`, so there is little).
 */
export function startProcess(command, args, { cwd, env } = {}) {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.add(child.pid);
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-4096);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      groups.delete(child.pid);
      resolve(code ?? (signal ? 128 : 1));
    });
    child.on('error', (error) => {
      keep(String(error));
      groups.delete(child.pid);
      resolve(127);
    });
  });
  return {
    pid: child.pid,
    exited,
    output: () => output,
    /** SIGTERM to the group, SIGKILL after `graceMs` (longer when a CPU profile must be written). */
    async stop(graceMs = process.env.BENCH_CPU_PROF ? 30_000 : 3_000) {
      killGroup(child.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      killGroup(child.pid, 'SIGKILL'); // cluster workers the primary left behind, if any
      groups.delete(child.pid);
    },
  };
}

/** Runs a command to its end within `timeoutMs`; resolves { code, stdout, stderr }. */
export function runToEnd(command, args, { timeoutMs, cwd, env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    groups.add(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr = (stderr + c).slice(-8192);
    });
    const timer = setTimeout(() => killGroup(child.pid, 'SIGKILL'), timeoutMs);
    const finish = (code) => {
      clearTimeout(timer);
      groups.delete(child.pid);
      resolve({ code, stdout, stderr });
    };
    child.on('exit', (code, signal) => finish(code ?? (signal ? 128 : 1)));
    child.on('error', (error) => {
      stderr += String(error);
      finish(127);
    });
  });
}

const givenPorts = new Set();

/** A port free on 127.0.0.1 right now and not handed out before (the server takes it a moment later). */
export async function freePort() {
  for (;;) {
    const port = await anyFreePort();
    if (givenPorts.has(port)) continue;
    givenPorts.add(port);
    return port;
  }
}

function anyFreePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** One GET on 127.0.0.1; resolves { status, headers, body } or rejects on a connection error or after 10 s. */
export function httpGet(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/** Waits until `path` answers 200, the process exits (rejects with its output), or `timeoutMs` passes. */
export async function waitReady(proc, port, path, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let exited;
  proc.exited.then((code) => {
    exited = code;
  });
  while (Date.now() < deadline) {
    if (exited !== undefined) throw new Error(`exited with code ${exited}: ${proc.output().trim().split('\n').at(-1) ?? ''}`);
    try {
      if ((await httpGet(port, path)).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready after ${timeoutMs / 1000} s: ${proc.output().trim().split('\n').at(-1) ?? ''}`);
}

/**
 * Calls `visit(pid, fields)` for every process in the group `pgid` (the server and its cluster
 * workers), with the fields of its `/proc/PID/stat` after the command name "(…)": state ppid
 * pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime …. A process that ends
 * meanwhile is skipped.
 */
function forEachInGroup(pgid, visit) {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) visit(name, fields);
    } catch {
      // the process ended meanwhile
    }
  }
}

/**
 * CPU time (user + system) used so far by every process of a process group, in seconds: read
 * around a wrk round, it says what the round cost the server, whatever else ran on the machine.
 * Linux clock ticks are 1/100 s.
 */
export function groupCpuSeconds(pgid) {
  let ticks = 0;
  forEachInGroup(pgid, (_pid, fields) => {
    ticks += Number(fields[11]) + Number(fields[12]);
  });
  return ticks / 100;
}

/** Resident memory (VmRSS, bytes) of every process in the group `pgid`: the server and its cluster workers. */
export function groupRss(pgid) {
  let total = 0;
  let processes = 0;
  forEachInGroup(pgid, (pid) => {
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (rss) {
      total += Number(rss[1]) * 1024;
      processes += 1;
    }
  });
  return { bytes: total, processes };
}
