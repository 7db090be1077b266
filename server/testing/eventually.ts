/**
 * Asks `probe` until it answers something other than undefined (or `timeoutMs` passes, which fails with
 * `what`): for effects that happen in the background (a delivery, a relay batch). Never a timing claim.
 */
export async function eventually<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  what: string,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await Bun.sleep(everyMs);
  }
}
