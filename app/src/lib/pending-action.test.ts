import { beforeAll, describe, expect, test } from 'bun:test';
import { compileModule } from 'svelte/compiler';
import { ApiError } from './api';
import type { PendingAction as PendingActionClass } from './pending-action.svelte';

// `.svelte.ts` modules use runes, which only the Svelte compiler understands (Vite compiles them for the
// app): here Bun strips the types and Svelte compiles the runes, as for the browser.
Bun.plugin({
  name: 'svelte runes modules',
  setup(build) {
    const transpiler = new Bun.Transpiler({ loader: 'ts' });
    build.onLoad({ filter: /\.svelte\.ts$/ }, async ({ path }) => {
      const javascript = transpiler.transformSync(await Bun.file(path).text());
      return {
        contents: compileModule(javascript, { filename: path, generate: 'client' }).js.code,
        loader: 'js',
      };
    });
  },
});

let PendingAction: typeof PendingActionClass;

beforeAll(async () => {
  ({ PendingAction } = await import('./pending-action.svelte.ts'));
});

/** A promise to settle from the test, to look at the action while it runs. */
function deferred<Value>() {
  let resolve!: (value: Value) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<Value>((settle, fail) => {
    resolve = settle;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('PendingAction', () => {
  test('is busy while the work runs and answers its result', async () => {
    const action = new PendingAction();
    expect(action.busy).toBe(false);
    expect(action.problem).toBeNull();

    const work = deferred<string>();
    const running = action.run(() => work.promise);
    expect(action.busy).toBe(true);

    work.resolve('done');
    expect(await running).toBe('done');
    expect(action.busy).toBe(false);
    expect(action.problem).toBeNull();
  });

  test('keeps an API problem as it is and answers undefined', async () => {
    const action = new PendingAction();
    const refusal = new ApiError({ status: 409, type: '/problems/last-owner', title: 'Conflict' });

    expect(await action.run(() => Promise.reject(refusal))).toBeUndefined();
    expect(action.busy).toBe(false);
    expect(action.problem).toBe(refusal);
  });

  test('turns anything else thrown into an ApiError a form can show', async () => {
    const action = new PendingAction();

    await action.run(async () => {
      throw new TypeError('boom');
    });
    expect(action.problem).toBeInstanceOf(ApiError);
    expect(action.problem?.status).toBe(0);
    expect(action.problem?.summary).toBe('boom');
  });

  test('clears the last problem when it runs again', async () => {
    const action = new PendingAction();
    await action.run(() => Promise.reject(new ApiError({ status: 500, title: 'Internal error' })));
    expect(action.problem).not.toBeNull();

    const work = deferred<void>();
    const running = action.run(() => work.promise);
    expect(action.problem).toBeNull();
    work.resolve();
    await running;
    expect(action.problem).toBeNull();
  });

  test('lets the component clear the problem itself', async () => {
    const action = new PendingAction();
    await action.run(() => Promise.reject(new ApiError({ status: 403, title: 'Not allowed' })));
    action.problem = null;
    expect(action.problem).toBeNull();
  });
});
