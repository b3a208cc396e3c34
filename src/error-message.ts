/** The message of anything thrown, for a log line or a CLI error (an Error's message, else its text). */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
