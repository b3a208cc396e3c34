import { readdirSync, readlinkSync } from 'node:fs';

/** Where a process's file descriptors point: this one's (tests that run the server in-process), or `pid`'s. */
export function openFiles(pid: number | 'self' = 'self'): string[] {
  return readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return [];
    }
  });
}
