// tileserver-gl-light, the reference tile server of the benchmark: installed on demand with npm into
// the cache folder (never a dependency of tilestamp), reused on later runs.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runToEnd } from './processes.mjs';

export const TSGL_VERSION = '5.6.0';

/**
 * Installs tileserver-gl-light into `dir/tileserver-gl-light` unless there already; resolves
 * `{ main }` (its src/main.js) or `{ error }` saying why it cannot run.
 */
export async function installTileserverGl(dir, log) {
  const root = join(dir, 'tileserver-gl-light');
  const pkg = join(root, 'node_modules', 'tileserver-gl-light', 'package.json');
  const main = join(root, 'node_modules', 'tileserver-gl-light', 'src', 'main.js');
  const installed = () => existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).version === TSGL_VERSION;
  if (!installed()) {
    log(`installing tileserver-gl-light@${TSGL_VERSION} with npm into ${root} (once; about 2 min, sqlite3 is compiled)`);
    mkdirSync(root, { recursive: true });
    // npm 11 runs no install script unless allowed: sqlite3 must build its binding.
    writeFileSync(
      join(root, 'package.json'),
      JSON.stringify({ name: 'tsgl-bench', private: true, allowScripts: { sqlite3: true } }),
    );
    const { code, stderr } = await runToEnd(
      'npm',
      ['install', '--no-audit', '--no-fund', '--no-save', `tileserver-gl-light@${TSGL_VERSION}`],
      { cwd: root, timeoutMs: 15 * 60_000, env: { npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr' } },
    );
    if (code !== 0 || !installed()) {
      const why = stderr.trim().split('\n').filter(Boolean).at(-1) ?? `npm exited with ${code}`;
      return { error: `npm install failed: ${why}` };
    }
  }
  const check = await runToEnd(process.execPath, ['-e', "require('sqlite3')"], { cwd: root, timeoutMs: 30_000 });
  if (check.code !== 0) return { error: `its sqlite3 binding does not load: ${check.stderr.trim().split('\n')[0]}` };
  return { main, root };
}

/**
 * Writes the config.json that serves `file` as data `id` (`--file` is broken in 5.6.0): paths.root
 * is its own tileserver-gl-styles (fonts, styles), paths.mbtiles the file's folder.
 */
export function writeTileserverGlConfig(configPath, tsglRoot, id, folder, fileName) {
  const config = {
    options: {
      paths: { root: join(tsglRoot, 'node_modules', 'tileserver-gl-styles'), mbtiles: folder },
    },
    styles: {},
    data: { [id]: { mbtiles: fileName } },
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
}
