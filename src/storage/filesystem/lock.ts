/**
 * The filesystem backend's directory lock (`retire.lock/`, taken with an atomic `mkdir`), held
 * while a collector retires processes or a process compacts its log, and the atomic replacement
 * of a file (written aside, then renamed over).
 * @module
 */
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "../../core/errors.ts";

/** The name of the lock directory. */
export const LOCK_NAME = "retire.lock";

/** `retire.lock/` in `directory`; a lock older than `staleMs` was left by a crashed process and is broken. */
export class DirectoryLock {
  readonly #path: string;
  readonly #clock: () => number;
  readonly #staleMs: number;

  /**
   * @param directory The shared directory.
   * @param clock Current time in ms.
   * @param staleMs Age after which a held lock is taken to be abandoned.
   */
  constructor(directory: string, clock: () => number, staleMs: number) {
    this.#path = join(directory, LOCK_NAME);
    this.#clock = clock;
    this.#staleMs = staleMs;
  }

  /** Takes the lock, trying for about two seconds; false when it stays held. */
  async take(): Promise<boolean> {
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        await fs.mkdir(this.#path, { mode: 0o700 });
        return true;
      } catch (error) {
        if (errorCode(error) !== "EEXIST") {
          throw new StorageError("filesystem", `cannot take ${LOCK_NAME}: ${(error as Error).message}`, {
            cause: error,
          });
        }
        const stat = await fs.stat(this.#path).catch(() => undefined);
        if (stat !== undefined && this.#clock() - stat.mtimeMs > this.#staleMs) {
          await fs.rmdir(this.#path).catch(() => {});
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    return false;
  }

  /** Releases the lock. */
  async release(): Promise<void> {
    await fs.rmdir(this.#path).catch(() => {});
  }

  /** Runs `work` under the lock; undefined, without running it, when the lock stays held. */
  async holding<T>(work: () => Promise<T>): Promise<T | undefined> {
    if (!(await this.take())) return undefined;
    try {
      return await work();
    } finally {
      await this.release();
    }
  }
}

/** Replaces `path` with `text` atomically: written to a temporary file beside it, then renamed over it. */
export async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await fs.writeFile(tmp, text, { mode: 0o600 });
    await fs.rename(tmp, path);
  } catch (error) {
    await fs.unlink(tmp).catch(() => {}); // a full disk leaves no empty file behind
    throw error;
  }
}

/** The `code` of a file system error (`ENOENT`, `EEXIST`...). */
export function errorCode(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}
