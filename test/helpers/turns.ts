/**
 * Runs `work` and counts the turns the event loop took meanwhile (setImmediate callbacks that
 * ran): work that never yields counts 0, whatever the machine's speed. No timing involved.
 */
export async function countTurns<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let working = true;
  const tick = () => {
    turns++;
    if (working) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { result: await work(), turns };
  } finally {
    working = false;
  }
}
