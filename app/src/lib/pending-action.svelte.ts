import { type ApiError, toApiError } from './api';

/**
 * One thing a component asks the server to do (a form's submit, a row's revoke), as reactive state:
 * `busy` while it runs, for the button's spinner, and `problem` when it failed, for a `ProblemAlert` or a
 * field's error. Components may clear `problem` themselves, e.g. when the person starts over.
 */
export class PendingAction {
  busy = $state(false);
  problem = $state<ApiError | null>(null);

  /**
   * Runs `work`: clears the last problem, is busy until it settles, and keeps what it threw as an
   * {@link ApiError}. Answers what `work` answered, or `undefined` when it threw.
   */
  async run<Result>(work: () => Promise<Result>): Promise<Result | undefined> {
    this.busy = true;
    this.problem = null;
    try {
      return await work();
    } catch (error) {
      this.problem = toApiError(error);
      return undefined;
    } finally {
      this.busy = false;
    }
  }
}
