import type { TestContext } from 'vitest';

/**
 * Skips a test that only root can run, saying why in the reporter (`[needs root: …]`): such tests
 * take away root's power to read or write everything (setpriv drops CAP_DAC_OVERRIDE and
 * CAP_DAC_READ_SEARCH), which another user cannot grant itself to begin with.
 */
export function needsRoot(ctx: TestContext, why: string): void {
  ctx.skip(process.getuid?.() !== 0, `needs root: ${why}`);
}
