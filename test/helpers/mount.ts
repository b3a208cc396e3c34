import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/** A read-only bind mount, or why none could be made here. */
export type ReadOnlyMount = { ok: true; path: string; unmount(): void } | { ok: false; reason: string };

/**
 * Bind-mounts `source` at `target`, then remounts it read-only (`mount --bind`, then
 * `mount -o remount,bind,ro`): what a container's `-v DIR:/data:ro` is. Needs root (or
 * CAP_SYS_ADMIN); where that is refused, says why instead of throwing, so the tests that need it
 * can be skipped with the reason.
 */
export function readOnlyBindMount(source: string, target: string): ReadOnlyMount {
  mkdirSync(target, { recursive: true });
  const run = (args: string[]) => execFileSync('mount', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    run(['--bind', source, target]);
  } catch (error) {
    return {
      ok: false,
      reason: `mount --bind is not permitted here (${String((error as { stderr?: unknown }).stderr ?? error).trim()})`,
    };
  }
  const unmount = () => execFileSync('umount', [target], { stdio: 'ignore' });
  try {
    run(['-o', 'remount,bind,ro', target]);
  } catch (error) {
    unmount();
    return {
      ok: false,
      reason: `remounting read-only is not permitted here (${String((error as { stderr?: unknown }).stderr ?? error).trim()})`,
    };
  }
  return { ok: true, path: target, unmount };
}
