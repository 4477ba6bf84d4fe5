/**
 * The filesystem backend's read: every process log replayed (only what was appended since the
 * last read, opened without blocking, regular files only), the retired total, and what is
 * damaged or stray, in words that say what to fix; within a timeout.
 * @module
 */
import { Buffer } from "node:buffer";
import { constants, type Dirent } from "node:fs";
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "../../core/errors.ts";
import type { ProcessRecord, StoredState } from "../../core/storage.ts";
import { classify, LogState, repairPath } from "./format.ts";
import { errorCode } from "./lock.ts";
import { readRetired } from "./retired.ts";

/** How many problems a read describes in words (the counts cover all of them). */
const MAX_PROBLEMS = 5;
/** How much of a log's start identifies it (its first heartbeat is in it). */
const HEAD_BYTES = 64;

/** Reads one directory, keeping what it replayed for the next read. */
export class DirectoryReader {
  /** Replayed logs by device and inode, so that a scrape reads only what was appended since the last. */
  #logs = new Map<string, LogState>();
  readonly #ensureDirectory: (again: boolean) => Promise<void>;

  /**
   * @param directory The shared directory.
   * @param timeoutMs A read that takes longer fails.
   * @param ensureDirectory Makes the directory when missing (`again`: it was there and is gone).
   */
  constructor(
    readonly directory: string,
    readonly timeoutMs: number,
    ensureDirectory: (again: boolean) => Promise<void>,
  ) {
    this.#ensureDirectory = ensureDirectory;
  }

  /** Reads every process log and the retired total, within the timeout. */
  async read(): Promise<StoredState> {
    await this.#ensureDirectory(false);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(fsError(`reading ${this.directory} took longer than ${this.timeoutMs} ms`, undefined)),
        this.timeoutMs,
      );
    });
    try {
      return await Promise.race([this.#readSettled(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #readSettled(): Promise<StoredState> {
    for (let attempt = 0;; attempt++) {
      const state = await this.#readOnce();
      // A log vanished between listing and reading (claimed, then folded): read again.
      if (state !== undefined) return state;
      if (attempt === 5) throw fsError("the directory kept changing while it was read", undefined);
    }
  }

  async #readOnce(): Promise<StoredState | undefined> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(this.directory, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
      // The directory was removed: made again, empty; the processes publish their state anew.
      await this.#ensureDirectory(true);
      entries = await fs.readdir(this.directory, { withFileTypes: true });
    }
    const retired = await readRetired(this.directory);
    const seen = new Map<string, LogState>();
    const folded = new Set(retired.file.ids);
    const descriptors = new Map(Object.entries(retired.file.descriptors));
    const processes: ProcessRecord[] = [];
    const problems: string[] = retired.damaged.map((name) =>
      `${join(this.directory, name)} is damaged (the other copy is used; the next retirement moves it aside)`
    );
    let corrupt = retired.damaged.length;
    let strays = 0;
    let setAside = 0;
    const stray = (entry: Dirent, what: string) => {
      strays++;
      problems.push(`${join(this.directory, entry.name)} ${what}; remove it`);
    };
    for (const entry of entries) {
      const name = entry.name;
      const kind = classify(name);
      if (kind === "bad") {
        setAside++;
        problems.push(`${join(this.directory, name)} holds damaged data set aside; inspect it, then delete it`);
        continue;
      }
      if (kind === "other") {
        stray(entry, "is not a file of this exporter");
        continue;
      }
      if (kind !== "log") continue;
      if (!entry.isFile()) {
        stray(entry, `is ${describeType(entry)}, not a log file`);
        continue;
      }
      const id = name.slice(2, -4);
      if (name.startsWith("c-") && folded.has(id)) continue;
      let state: LogState | undefined;
      try {
        state = await this.#catchUp(join(this.directory, name), seen);
      } catch (error) {
        if (errorCode(error) === "ENOENT") return undefined;
        throw fsError(`cannot read ${join(this.directory, name)}`, error);
      }
      if (state === undefined) {
        stray(entry, "is not a regular file");
        continue;
      }
      if (state.damaged) {
        corrupt += Math.max(1, state.corrupt);
        problems.push(
          `${join(this.directory, name)} has ${
            state.corrupt > 0 ? `${state.corrupt} damaged line(s)` : "been truncated"
          }` +
            (name.startsWith("p-") ? "; its process rewrites it at its next publish" : "; kept for inspection"),
        );
        if (name.startsWith("p-")) await this.#askRepair(id);
      }
      const record = state.record();
      if (record === undefined) continue;
      for (const [metric, d] of state.descriptors) descriptors.set(metric, d);
      processes.push({ id, ...record });
    }
    this.#logs = seen;
    return {
      descriptors,
      processes,
      retired: new Map(Object.entries(retired.file.series)),
      retiredVersion: retired.file.version,
      corrupt,
      strays,
      setAside,
      problems: problems.slice(0, MAX_PROBLEMS),
    };
  }

  /**
   * Brings the replayed state of one log up to date, reading only the bytes appended since the
   * last scrape; a new file (compacted, or another process's) is read whole. Opens without
   * blocking and reads regular files only (undefined otherwise), so a FIFO cannot hang a scrape.
   * A file that shrank in place keeps what was read before (no counter goes backwards) and is
   * marked damaged, for its owner to rewrite.
   */
  async #catchUp(path: string, seen: Map<string, LogState>): Promise<LogState | undefined> {
    const handle = await fs.open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return undefined;
      const key = `${stat.dev}:${stat.ino}`;
      let state = this.#logs.get(key) ?? seen.get(key);
      // An inode is reused once its file is gone (a retired log removed, another created): the
      // same inode with a different first line is a new log, read whole.
      if (state !== undefined && !(await sameHead(handle, state.head))) state = undefined;
      if (state === undefined) state = new LogState();
      else if (stat.size < state.offset) state.truncated = true;
      if (stat.size > state.offset) {
        const buffer = Buffer.alloc(stat.size - state.offset);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, state.offset);
        if (state.offset === 0) state.head = Buffer.from(buffer.subarray(0, Math.min(HEAD_BYTES, bytesRead)));
        state.apply(buffer.subarray(0, bytesRead).toString("utf8"));
      }
      seen.set(key, state);
      return state;
    } finally {
      await handle.close();
    }
  }

  /** Leaves `r-<id>.repair` for the owner of a damaged log, which rewrites its full state. */
  async #askRepair(id: string): Promise<void> {
    await fs.writeFile(repairPath(this.directory, id), "", { flag: "wx", mode: 0o600 }).catch(() => {});
  }
}

function describeType(entry: Dirent): string {
  if (entry.isDirectory()) return "a directory";
  if (entry.isFIFO()) return "a FIFO";
  if (entry.isSymbolicLink()) return "a symbolic link";
  if (entry.isSocket()) return "a socket";
  return "not a regular file";
}

/**
 * Whether the file starts with `head` (the first bytes of a log as first read). A file cut shorter
 * in place is still the same log (its state is kept, marked truncated); different bytes are not.
 */
async function sameHead(handle: fs.FileHandle, head: Buffer | undefined): Promise<boolean> {
  if (head === undefined) return true; // nothing read yet: nothing to compare
  const buffer = Buffer.alloc(head.length);
  const { bytesRead } = await handle.read(buffer, 0, head.length, 0);
  return buffer.subarray(0, bytesRead).equals(head.subarray(0, bytesRead));
}

/** A StorageError of this backend, with the cause's message. */
export function fsError(message: string, cause: unknown): StorageError {
  const detail = cause instanceof Error ? `: ${cause.message}` : "";
  return new StorageError("filesystem", `${message}${detail}`, { cause });
}
