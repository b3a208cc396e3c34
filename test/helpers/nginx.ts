import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO, tempDir } from './fixtures.ts';

export const NGINX = process.env.NGINX_BIN ?? '/usr/sbin/nginx';

/** A free loopback port (bound and released: fine for tests that start a server right after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

export interface CachingProxy {
  url: string;
  stop(): Promise<void>;
}

/** The proxy config that deploy/ ships to operators: the tests run this very file. */
export const NGINX_CONF = join(REPO, 'deploy/nginx/tilestamp.conf');

/** Replaces exactly one occurrence of `pattern`, so that the shipped file cannot drift unnoticed. */
function replaceOnce(text: string, pattern: RegExp, replacement: string): string {
  const found = text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`))?.length ?? 0;
  if (found !== 1) throw new Error(`${NGINX_CONF}: expected one ${pattern} (the value the tests replace), found ${found}`);
  return text.replace(pattern, replacement);
}

/**
 * Starts Debian's nginx as a caching reverse proxy in front of `upstreamPorts` (one or several
 * replicas), with deploy/nginx/tilestamp.conf: the cache key keeps the query string (so `?v=` is
 * part of it), the upstream's Cache-Control decides what is stored, and `X-Cache-Status` tells
 * what happened. Only the listen port, the upstream servers and the cache folder are this test's.
 */
export async function startCachingProxy(upstreamPorts: number | number[]): Promise<CachingProxy> {
  const prefix = tempDir('tilestamp-nginx-');
  for (const sub of ['cache', 'temp', 'logs']) mkdirSync(join(prefix, sub));
  const port = await freePort();
  let shipped = readFileSync(NGINX_CONF, 'utf8');
  shipped = replaceOnce(shipped, /\/var\/cache\/nginx\/tilestamp /, `${prefix}/cache `);
  shipped = replaceOnce(
    shipped,
    /^ *server 127\.0\.0\.1:8080;$/m,
    [upstreamPorts]
      .flat()
      .map((p) => `    server 127.0.0.1:${p};`)
      .join('\n'),
  );
  shipped = replaceOnce(shipped, /^ *listen 80;$/m, `    listen 127.0.0.1:${port};`);
  const site = join(prefix, 'tilestamp.conf');
  writeFileSync(site, shipped);
  // What a distribution's /etc/nginx/nginx.conf provides around conf.d/, in the test's own folder.
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off;
master_process off;
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${prefix}/temp/body;
  proxy_temp_path ${prefix}/temp/proxy;
  fastcgi_temp_path ${prefix}/temp/fastcgi;
  uwsgi_temp_path ${prefix}/temp/uwsgi;
  scgi_temp_path ${prefix}/temp/scgi;
  include ${site};
}
`,
  );
  execFileSync(NGINX, ['-t', '-q', '-p', prefix, '-c', conf], { stdio: 'pipe' });
  const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    const up = await fetch(`${url}/health`).then(
      () => true,
      () => false,
    );
    if (up) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nginx did not start (exit ${child.exitCode})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
      }),
  };
}
