/**
 * Work that runs on its own clock (renewals, pruning, checkpoints). Features export their jobs; the
 * runtime (`server/runtime.ts`) lists and starts them, and stops them with the app.
 */
export interface PeriodicJob {
  name: string;
  intervalMs: number;
  /** Run once at start too. */
  runNow?: boolean;
  /** One run; `signal` aborts when the runtime stops (a run may finish its current step first). */
  run(signal: AbortSignal): Promise<unknown>;
}

/**
 * Runs the job every `intervalMs` (and once at once with `runNow`), one run at a time: a run that is
 * still going when the next is due is followed, not overlapped. A failure goes to `onError`; the next run
 * comes anyway. `stop` waits for the run in progress.
 */
export function startPeriodic(
  job: PeriodicJob,
  options: { signal: AbortSignal; onError?: (error: unknown) => void },
): { stop(): Promise<void> } {
  let running: Promise<unknown> = Promise.resolve();
  const run = () => {
    if (options.signal.aborted) return;
    running = running.then(() =>
      options.signal.aborted ? undefined : job.run(options.signal).catch((error) => options.onError?.(error)),
    );
  };
  if (job.runNow) run();
  const timer = setInterval(run, job.intervalMs);
  const stop = () => clearInterval(timer);
  options.signal.addEventListener('abort', stop, { once: true });
  return {
    async stop() {
      stop();
      await running;
    },
  };
}
