import { dlopen, FFIType, suffix } from 'bun:ffi';
import { closeSync, ftruncateSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const LOCK_EX = 2;
const LOCK_NB = 4;

export class DataDirInUseError extends Error {
  constructor(readonly dataDir: string) {
    super(
      `The data folder ${dataDir} is in use by another Wrapper process. ` +
        'Embedded PGlite allows one process per folder (two would silently lose writes): ' +
        'stop the other process, or start this one with a different DATA_DIR.',
    );
    this.name = 'DataDirInUseError';
  }
}

function loadFlock(): ((fd: number, operation: number) => number) | null {
  const libraryName = process.platform === 'darwin' ? 'libSystem.B.dylib' : `libc.${suffix}.6`;
  try {
    const { symbols } = dlopen(libraryName, {
      flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    });
    return (fd, operation) => symbols.flock(fd, operation);
  } catch {
    return null;
  }
}

/**
 * Takes an exclusive advisory lock (flock) on `<dataDir>/wrapper.lock` for the life of the process.
 * The kernel drops the lock when the process dies, even by `kill -9`, so no stale lock survives a crash.
 */
export function lockDataDir(dataDir: string): { release(): void } {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'wrapper.lock');
  const fd = openSync(path, 'a+');
  const flock = loadFlock();
  if (!flock) {
    closeSync(fd);
    throw new Error(`Cannot lock ${path}: flock(2) is not available on this platform`);
  }
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    closeSync(fd);
    throw new DataDirInUseError(dataDir);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString() })}\n`);
  return { release: () => closeSync(fd) };
}
