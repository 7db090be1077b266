/**
 * Runs `job` every `intervalMs` (and once at once with `runNow`), one run at a time: a run that is still
 * going when the next is due is followed, not overlapped. A failure goes to `onError`; the next run
 * comes anyway. `stop` waits for the run in progress.
 */
export function startPeriodic(
  job: () => Promise<unknown>,
  options: { intervalMs: number; runNow?: boolean; onError?: (error: unknown) => void },
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const run = () => {
    running = running.then(() => job().catch((error) => options.onError?.(error)));
  };
  if (options.runNow) run();
  const timer = setInterval(run, options.intervalMs);
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
