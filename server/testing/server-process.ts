import { resolve } from 'node:path';
import type { Subprocess } from 'bun';

export const projectRoot = resolve(import.meta.dir, '../..');

export interface ServerProcess {
  process: Subprocess<'ignore', 'pipe', 'pipe'>;
  baseUrl: string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Environment for a child server: the parent's, minus database/redis selection unless given. */
export function childEnv(overrides: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({
    ...process.env,
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
    ...overrides,
  })) {
    if (value !== undefined) env[key] = value;
  }
  return env;
}

/** Starts `bun server/main.ts` on a free port and waits for its "listening" log line. */
export async function startServerProcess(env: Record<string, string | undefined>): Promise<ServerProcess> {
  const child = Bun.spawn(['bun', 'server/main.ts'], {
    cwd: projectRoot,
    env: childEnv({ PORT: '0', HOST: '127.0.0.1', ...env }),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const decoder = new TextDecoder();
  let seen = '';
  const reader = child.stdout.getReader();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += decoder.decode(value);
    const match = /"url":"http:\/\/127\.0\.0\.1:(\d+)"/.exec(seen);
    if (match) {
      reader.releaseLock();
      void child.stdout.pipeTo(new WritableStream()).catch(() => {});
      return {
        process: child,
        baseUrl: `http://127.0.0.1:${match[1]}`,
        async stop(signal = 'SIGTERM') {
          child.kill(signal);
          return child.exited;
        },
      };
    }
  }
  child.kill('SIGKILL');
  const stderr = await new Response(child.stderr).text();
  throw new Error(`server did not start:\n${seen}\n${stderr}`);
}

/** Runs the server expecting it to refuse to start; returns its exit code and stderr. */
export async function runServerExpectingFailure(env: Record<string, string | undefined>) {
  const child = Bun.spawn(['bun', 'server/main.ts'], {
    cwd: projectRoot,
    env: childEnv({ HOST: '127.0.0.1', ...env }),
    stdin: 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exitCode = await child.exited;
  clearTimeout(timer);
  return {
    exitCode,
    stderr: await new Response(child.stderr).text(),
    stdout: await new Response(child.stdout).text(),
  };
}
