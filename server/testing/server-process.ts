import { resolve } from 'node:path';
import type { Subprocess } from 'bun';

export const projectRoot = resolve(import.meta.dir, '../..');

export interface ServerProcess {
  process: Subprocess<'ignore', 'ignore' | 'pipe', 'pipe'>;
  baseUrl: string;
  /** What the server wrote to stdout so far (its log), with `captureOutput`. */
  output(): string;
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

/** A port that was free a moment ago (the OS picks it; the probe closes before the server binds). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  const { port } = probe;
  probe.stop(true);
  return port;
}

/**
 * Starts `bun server/main.ts` on a free port (or `options.port`, when the test had to know it in
 * advance, e.g. for a provider's redirect URI) and waits until `/healthz` answers.
 */
export async function startServerProcess(
  env: Record<string, string | undefined>,
  options: { port?: number; captureOutput?: boolean } = {},
): Promise<ServerProcess> {
  const port = options.port ?? freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const child = Bun.spawn(['bun', 'server/main.ts'], {
    cwd: projectRoot,
    env: childEnv({ LOG_LEVEL: 'warn', ...env, PORT: String(port), HOST: '127.0.0.1' }),
    stdin: 'ignore',
    stdout: options.captureOutput ? 'pipe' : 'ignore',
    stderr: 'pipe',
  });
  let output = '';
  if (child.stdout instanceof ReadableStream) {
    const reader = (child.stdout as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    void (async () => {
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        output += decoder.decode(next.value);
      }
    })();
  }
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) {
        return {
          process: child,
          baseUrl,
          output: () => output,
          async stop(signal = 'SIGTERM') {
            child.kill(signal);
            return child.exited;
          },
        };
      }
    } catch {
      // not listening yet
    }
    await Bun.sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`server did not start:\n${await new Response(child.stderr).text()}`);
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
