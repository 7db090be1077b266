import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** `bun run start` and `bun run test` need the built app; build it once when it is not there. */
const root = resolve(import.meta.dir, '../..');
if (!existsSync(resolve(root, 'app/build/index.html'))) {
  console.log('Building the app (app/build is missing)...');
  const build = Bun.spawnSync(['bun', 'run', 'build'], {
    cwd: resolve(root, 'app'),
    stdout: 'inherit',
    stderr: 'inherit',
  });
  if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);
}
