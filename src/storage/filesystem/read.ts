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
import type { MetricDescriptor, ProcessRecord, StoredState } from "../../core/storage.ts";
import { classify, LogState, repairPath } from "./format.ts";
import { errorCode } from "./lock.ts";
import { readRetired } from "./retired.ts";

/** How many problems a read describes in words (the counts cover all of them). */
const MAX_PROBLEMS = 5;
/** How much of a log's start identifies it (its first heartbeat is in it). */
const HEAD_BYTES = 64;

/** What a read found so far. */
interface Tally {
  readonly seen: Map<string, LogState>;
  /** Ids the retired total names: their claimed logs are folded already. */
  readonly folded: ReadonlySet<string>;
  readonly descriptors: Map<string, MetricDescriptor>;
  readonly processes: ProcessRecord[];
  readonly problems: string[];
  corrupt: number;
  strays: number;
  setAside: number;
}

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
    const entries = await this.#list();
    const retired = await readRetired(this.directory);
    const tally: Tally = {
      seen: new Map(),
      folded: new Set(retired.file.ids),
      descriptors: new Map(Object.entries(retired.file.descriptors)),
      processes: [],
      problems: retired.damaged.map((name) =>
        `${join(this.directory, name)} is damaged (the other copy is used; the next retirement moves it aside)`
      ),
      corrupt: retired.damaged.length,
      strays: 0,
      setAside: 0,
    };
    for (const entry of entries) {
      if (!(await this.#readEntry(entry, tally))) return undefined;
    }
    this.#logs = tally.seen;
    return {
      descriptors: tally.descriptors,
      processes: tally.processes,
      retired: new Map(Object.entries(retired.file.series)),
      retiredVersion: retired.file.version,
      corrupt: tally.corrupt,
      strays: tally.strays,
      setAside: tally.setAside,
      problems: tally.problems.slice(0, MAX_PROBLEMS),
    };
  }

  /** The directory's entries; a directory that was removed is made again, empty (its processes publish anew). */
  async #list(): Promise<Dirent[]> {
    try {
      return await fs.readdir(this.directory, { withFileTypes: true });
    } catch (error) {
      if (errorCode(error) !== "ENOENT") throw error;
      await this.#ensureDirectory(true);
      return await fs.readdir(this.directory, { withFileTypes: true });
    }
  }

  /** Counts one entry into `tally`; false when the directory changed under the read (read again). */
  async #readEntry(entry: Dirent, tally: Tally): Promise<boolean> {
    const name = entry.name;
    const path = join(this.directory, name);
    const stray = (what: string) => {
      tally.strays++;
      tally.problems.push(`${path} ${what}; remove it`);
      return true;
    };
    const kind = classify(name);
    if (kind === "bad") {
      tally.setAside++;
      tally.problems.push(`${path} holds damaged data set aside; inspect it, then delete it`);
      return true;
    }
    if (kind === "other") return stray("is not a file of this exporter");
    if (kind !== "log") return true;
    if (!entry.isFile()) return stray(`is ${describeType(entry)}, not a log file`);
    const id = name.slice(2, -4);
    if (name.startsWith("c-") && tally.folded.has(id)) return true;
    let state: LogState | undefined;
    try {
      state = await this.#catchUp(path, tally.seen);
    } catch (error) {
      if (errorCode(error) === "ENOENT") return false;
      throw fsError(`cannot read ${path}`, error);
    }
    if (state === undefined) return stray("is not a regular file");
    if (state.damaged) {
      tally.corrupt += Math.max(1, state.corrupt);
      const what = state.corrupt > 0 ? `${state.corrupt} damaged line(s)` : "been truncated";
      const owner = name.startsWith("p-") ? "; its process rewrites it at its next publish" : "; kept for inspection";
      tally.problems.push(`${path} has ${what}${owner}`);
      if (name.startsWith("p-")) await this.#askRepair(id);
    }
    const record = state.record();
    if (record === undefined) return true;
    for (const [metric, d] of state.descriptors) tally.descriptors.set(metric, d);
    tally.processes.push({ id, ...record });
    return true;
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
