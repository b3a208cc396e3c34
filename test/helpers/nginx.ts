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

/** The distribution's main config, which reads conf.d/*.conf inside `http { }` (Debian's nginx package). */
export const DISTRIBUTION_CONF = process.env.NGINX_MAIN_CONF ?? '/etc/nginx/nginx.conf';

/**
 * deploy/nginx/tilestamp.conf as the file's own header says to install it on Debian, in a folder
 * of the test's own: the distribution's nginx.conf around it, the shipped file in its conf.d/,
 * Debian's default site removed (an empty sites-enabled/). Of the shipped file only its three
 * marked values change: the listen port, the upstream servers, the cache folder (tests run side
 * by side). Of nginx.conf only what would touch the system's nginx: its pid, its logs, the two
 * include folders, and temporary files kept in the test's folder.
 */
export function installLikeTheDocs(prefix: string, listen: string, upstreams: string[], sitesEnabled: string[] = []): string {
  for (const sub of ['cache', 'temp', 'logs', 'conf.d', 'sites-enabled']) mkdirSync(join(prefix, sub));
  let shipped = readFileSync(NGINX_CONF, 'utf8');
  shipped = replaceOnce(shipped, /\/var\/cache\/nginx-tilestamp /, `${prefix}/cache `);
  shipped = replaceOnce(shipped, /^ *server 127\.0\.0\.1:8080;$/m, upstreams.map((u) => `    server ${u};`).join('\n'));
  shipped = replaceOnce(shipped, /^ *listen 80 default_server;$/m, `    listen ${listen} default_server;`);
  writeFileSync(join(prefix, 'conf.d', 'tilestamp.conf'), shipped);
  for (const [i, site] of sitesEnabled.entries()) writeFileSync(join(prefix, 'sites-enabled', `site-${i}`), site);
  let main = readFileSync(DISTRIBUTION_CONF, 'utf8');
  main = replaceOnce(main, /^\s*pid [^;]+;$/m, `pid ${prefix}/nginx.pid;`);
  main = replaceOnce(main, /^\s*error_log [^;]+;$/m, `error_log ${prefix}/logs/error.log warn;`);
  main = replaceOnce(main, /^\s*access_log [^;]+;$/m, 'access_log off;');
  main = replaceOnce(main, /include \/etc\/nginx\/conf\.d\/\*\.conf;/, `include ${prefix}/conf.d/*.conf;`);
  main = replaceOnce(main, /include \/etc\/nginx\/sites-enabled\/\*;/, `include ${prefix}/sites-enabled/*;`);
  main = replaceOnce(
    main,
    /^http \{$/m,
    `http {\n${['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `\t${t}_temp_path ${prefix}/temp/${t};`).join('\n')}`,
  );
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, main);
  return conf;
}

/** `nginx -t` of a config: its stderr, and whether it passed. */
export function testNginxConf(prefix: string, conf: string): { ok: boolean; output: string } {
  try {
    execFileSync(NGINX, ['-t', '-p', prefix, '-c', conf, '-g', 'daemon off; master_process off;'], { stdio: 'pipe' });
    return { ok: true, output: '' };
  } catch (error) {
    return { ok: false, output: String((error as { stderr?: Buffer }).stderr ?? error) };
  }
}

/**
 * Starts Debian's nginx as a caching reverse proxy in front of `upstreamPorts` (one or several
 * replicas), installed like the docs say (`installLikeTheDocs`): the cache key keeps the query
 * string (so `?v=` is part of it), the upstream's Cache-Control decides what is stored, and
 * `X-Cache-Status` tells what happened.
 */
export async function startCachingProxy(upstreamPorts: number | number[]): Promise<CachingProxy> {
  const prefix = tempDir('tilestamp-nginx-');
  const port = await freePort();
  const upstreams = [upstreamPorts].flat().map((p) => `127.0.0.1:${p}`);
  const conf = installLikeTheDocs(prefix, `127.0.0.1:${port}`, upstreams);
  const checked = testNginxConf(prefix, conf);
  if (!checked.ok) throw new Error(`nginx -t failed: ${checked.output}`);
  const child: ChildProcess = spawn(NGINX, ['-p', prefix, '-c', conf, '-g', 'daemon off; master_process off;'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
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
