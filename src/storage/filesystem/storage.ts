/**
 * The filesystem backend: many processes on one host share a directory (`PROMETHEUS_MULTIPROC_DIR`).
 * Each process appends its publishes to its own log; a scrape replays every log (only what was
 * appended since the last scrape) and the retired total. The files and their format are described
 * in `format.ts`, the lock in `lock.ts`, retirement in `retire.ts`.
 * @module
 */
import { Buffer } from "node:buffer";
import { constants, type Stats } from "node:fs";
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { ConfigError, StorageError } from "../../core/errors.ts";
import type {
  MetricDescriptor,
  ProcessUpdate,
  PublishOutcome,
  Retirement,
  Storage,
  StoredState,
} from "../../core/storage.ts";
import { checkId, entryPath, type LogLine, repairPath, RETIRED_COPIES, sealLine } from "./format.ts";
import { DirectoryLock, errorCode, writeAtomically } from "./lock.ts";
import { readTombstone, retireLogs } from "./retire.ts";
import { DirectoryReader, fsError } from "./read.ts";
import { anyExists, isRestoredLog, restoreDirectory } from "./restore.ts";

/** Options of {@link FilesystemStorage}. */
export interface FilesystemStorageOptions {
  /** The shared directory; created (0700) when missing. */
  readonly directory: string;
  /** Current time in ms; tombstones and stale locks expire by it. Default `Date.now`. */
  readonly clock?: () => number;
  /** How long a retired process's folded values are kept for it, in ms. Default one day. */
  readonly tombstoneTtlMs?: number;
  /** A lock older than this was left by a crashed process and is broken, in ms. Default 30000. */
  readonly lockStaleMs?: number;
  /** A read of the directory that takes longer fails (the scrape answers 503), in ms. Default 5000. */
  readonly readTimeoutMs?: number;
}

interface Own {
  /** Everything this process has published, for compaction. */
  readonly series: Map<string, string>;
  readonly descriptors: Map<string, MetricDescriptor>;
  heartbeat: number;
  /** Bytes appended since the last compaction. */
  bytes: number;
  compactedBytes: number;
  /** The log's size after this process's last write: any other size means someone damaged it. */
  size: number;
  /** A write of this process's failed (a full disk): its log may end in a torn line of its own. */
  failedWrite?: boolean;
  /** The damaged log was kept as a `.bad` already; the rewrite is pending. */
  keptBad?: boolean;
  /** The log is not what this process wrote (damaged, or put back by another): rewrite it whole. */
  mustRewrite?: boolean;
}

/** What a publish that writes nothing answers. */
type Refusal = Exclude<PublishOutcome, { status: "ok" }>;

/**
 * Storage in a directory shared by the processes of one host.
 *
 * @example
 * ```ts
 * import { FilesystemStorage } from "hono-prometheus-exporter/filesystem";
 * const storage = new FilesystemStorage({ directory: "/tmp/metrics-example" });
 * console.log((await storage.read()).processes.length); // 0
 * ```
 */
export class FilesystemStorage implements Storage {
  /** Always `filesystem`. */
  readonly kind = "filesystem";
  /** The shared directory. */
  readonly directory: string;
  /** The shared directory, for messages. */
  readonly address: string;
  readonly #clock: () => number;
  readonly #tombstoneTtlMs: number;
  readonly #lock: DirectoryLock;
  /** How long a read of the directory may take, in ms (a scrape without a deadline of its own waits this long). */
  readonly timeoutMs: number;
  readonly #own = new Map<string, Own>();
  #ready: Promise<void> | undefined;
  readonly #reader: DirectoryReader;

  /**
   * Uses `options.directory`, creating it on first use.
   * @param options Directory, clock and lifetimes.
   */
  constructor(options: FilesystemStorageOptions) {
    if (typeof options.directory !== "string" || options.directory === "") {
      throw new StorageError("filesystem", "no directory given; set PROMETHEUS_MULTIPROC_DIR or the directory option");
    }
    this.directory = this.address = options.directory;
    this.#clock = options.clock ?? Date.now;
    this.#tombstoneTtlMs = options.tombstoneTtlMs ?? 86_400_000;
    this.timeoutMs = options.readTimeoutMs ?? 5_000;
    this.#reader = new DirectoryReader(this.directory, this.timeoutMs, (again) => {
      if (again) this.#ready = undefined;
      return this.#ensureDirectory();
    });
    this.#lock = new DirectoryLock(this.directory, this.#clock, options.lockStaleMs ?? 30_000);
  }

  /**
   * Appends one publish to this process's log, in one write; answers `lost` when the log is gone
   * without a collector having claimed it (the directory was emptied or made again). A `replace`
   * writes the whole state as a new log, with the restoration, under the directory lock.
   */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    const id = checkId(update.processId);
    if (update.replace) return await this.#replace(id, update);
    await this.#ensureDirectory();
    const known = this.#own.get(id);
    const refused = await this.#refusal(id, known, update);
    if (refused !== undefined) return refused;
    const own: Own = known ??
      { series: new Map(), descriptors: new Map(), heartbeat: 0, bytes: 0, compactedBytes: 0, size: 0 };
    const line: LogLine = { h: update.heartbeat, s: Object.fromEntries(update.series) };
    if (update.exited) line.x = 1;
    if (update.descriptors.size > 0) line.d = Object.fromEntries(update.descriptors);
    const text = sealLine(line);
    const written = await this.#append(id, own, known !== undefined, text);
    if (written.status !== "ok") return written;
    this.#own.set(id, own);
    for (const [name, d] of update.descriptors) own.descriptors.set(name, d);
    for (const [key, value] of update.series) own.series.set(key, value);
    own.heartbeat = update.heartbeat;
    const bytes = Buffer.byteLength(text);
    own.bytes += bytes;
    // Truncated, or written to by someone else, or found damaged by a reader: rewrite it whole,
    // keeping the old one for inspection unless the damage was our own failed write or the log
    // was put back by another process after a loss.
    const damaged = written.repair || own.failedWrite === true || own.mustRewrite === true ||
      written.size !== own.size + bytes;
    own.size = written.size;
    if (damaged) {
      own.mustRewrite = true; // until a compaction succeeds (the lock may be held now)
      const keep = !own.failedWrite && !(await isRestoredLog(entryPath(this.directory, "p", id, ".log")));
      await this.#compact(id, own, update.exited, keep);
    } else if (own.bytes > Math.max(64 * 1024, 4 * own.compactedBytes)) await this.#compact(id, own, update.exited);
    return { status: "ok" };
  }

  /** Why this publish writes nothing: storage lost what it expects, or a collector retired it. */
  async #refusal(id: string, known: Own | undefined, update: ProcessUpdate): Promise<PublishOutcome | undefined> {
    // The log holds what this process wrote last; a publisher that expects something else missed
    // an answer (the write landed, then it failed): everything again, as after a loss.
    const expect = update.expect;
    if (expect !== undefined && known?.heartbeat !== expect.heartbeat && known?.heartbeat !== expect.sent) {
      return { status: "lost", lost: "record" };
    }
    // A reader knows a retired total: both its copies gone is a loss it can repair.
    if (update.expect?.retired && !(await anyExists(RETIRED_COPIES.map((name) => join(this.directory, name))))) {
      return { status: "lost", lost: "retired" };
    }
    return known === undefined ? await readTombstone(this.directory, id, this.#clock()) : undefined;
  }

  /**
   * Appends `text` to the log of `id` in one write, and tells the log's size after it and whether a
   * reader asked for a repair; a log that is gone was claimed by a collector, or lost.
   */
  async #append(
    id: string,
    own: Own,
    known: boolean,
    text: string,
  ): Promise<{ status: "ok"; size: number; repair: boolean } | Refusal> {
    const path = entryPath(this.directory, "p", id, ".log");
    // After the first publish the log is never created again: a missing log means it was claimed.
    const flags = constants.O_WRONLY | constants.O_APPEND | (known ? 0 : constants.O_CREAT);
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, flags, 0o600);
    } catch (error) {
      if (errorCode(error) === "ENOENT" && known) return await this.#claimed(id);
      throw fsError(
        `cannot ${
          known ? "open" : "create"
        } ${path}; PROMETHEUS_MULTIPROC_DIR must be a directory this process can write`,
        error,
      );
    }
    try {
      try {
        // A full disk may take part of the line without an error: that is a failed write too.
        const bytes = Buffer.byteLength(text);
        const { bytesWritten } = await handle.write(text);
        if (bytesWritten < bytes) throw new Error(`only ${bytesWritten} of ${bytes} bytes were written (disk full?)`);
      } catch (error) {
        // The log exists now, perhaps with a torn line of ours: the next publish rewrites it whole.
        own.failedWrite = true;
        this.#own.set(id, own);
        throw fsError(`cannot write ${path}`, error);
      }
      // A collector may have claimed the log between our open and our write: then the write went
      // to the claimed file and may not have been counted, so this publish is not acknowledged.
      const [mine, current, repair] = await Promise.all([
        handle.stat(),
        fs.stat(path).catch(() => undefined),
        fs.access(repairPath(this.directory, id)).then(() => true, () => false),
      ]);
      if (current === undefined || !sameFile(mine, current)) return await this.#claimed(id);
      return { status: "ok", size: mine.size, repair };
    } finally {
      await handle.close();
    }
  }

  /** Reads every process log and the retired total, within `readTimeoutMs` (see `read.ts`). */
  read(): Promise<StoredState> {
    return this.#reader.read();
  }

  /** Retires processes under the directory lock when nothing moved since the collector read. */
  async retire(retirement: Retirement): Promise<boolean> {
    await this.#ensureDirectory();
    return retireLogs(
      { directory: this.directory, lock: this.#lock, clock: this.#clock, tombstoneTtlMs: this.#tombstoneTtlMs },
      retirement,
    );
  }

  /** Nothing stays open between calls. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  /** The whole state as a new log (after a loss), with what the restoration puts back, under the lock. */
  async #replace(id: string, update: ProcessUpdate): Promise<PublishOutcome> {
    this.#own.delete(id);
    this.#ready = undefined; // the directory may have been removed: made again if so
    await this.#ensureDirectory();
    const outcome = await this.#lock.holding(async (): Promise<PublishOutcome> => {
      const retired = await readTombstone(this.directory, id, this.#clock());
      if (retired !== undefined) return retired;
      const restored = await restoreDirectory(this.directory, update.restore, this.#clock());
      const line: LogLine = {
        h: update.heartbeat,
        s: Object.fromEntries(update.series),
        d: Object.fromEntries(update.descriptors),
      };
      if (update.exited) line.x = 1;
      const text = sealLine(line);
      await writeAtomically(entryPath(this.directory, "p", id, ".log"), text);
      const size = Buffer.byteLength(text);
      this.#own.set(id, {
        series: new Map(update.series),
        descriptors: new Map(update.descriptors),
        heartbeat: update.heartbeat,
        bytes: size,
        compactedBytes: size,
        size,
      });
      return { status: "ok", restored };
    });
    if (outcome !== undefined) return outcome;
    throw new StorageError(
      "filesystem",
      `${this.directory}: the directory lock stays held; the publish will be retried`,
      {
        transient: true,
      },
    );
  }

  /**
   * Rewrites this process's log as one full line. `damaged`: the old file is kept as a `.bad`
   * (hard link) before the rename replaces it, and the repair request is withdrawn.
   */
  async #compact(id: string, own: Own, exited: boolean, damaged = false): Promise<void> {
    const line: LogLine = {
      h: own.heartbeat,
      s: Object.fromEntries(own.series),
      d: Object.fromEntries(own.descriptors),
    };
    if (exited) line.x = 1;
    const text = sealLine(line);
    // Under the lock no collector can claim the log, so replacing it cannot resurrect a retired id.
    // When the lock stays held, compaction is tried again after the next publish.
    await this.#lock.holding(async () => {
      const path = entryPath(this.directory, "p", id, ".log");
      if (await fs.stat(path).catch(() => undefined)) {
        if (damaged && !own.keptBad) {
          await fs.link(path, join(this.directory, `p-${id}.${this.#clock()}.bad`)).catch(() => {});
          own.keptBad = true; // once per damage, however many rewrites fail after it
        }
        await writeAtomically(path, text);
        own.bytes = own.compactedBytes = own.size = Buffer.byteLength(text);
        own.failedWrite = own.keptBad = own.mustRewrite = false;
        await fs.unlink(repairPath(this.directory, id)).catch(() => {});
      }
    });
  }

  /**
   * The outcome for a log that is gone: a retirement under way (its claim exists), retired (with
   * what was folded), or lost with the directory's content.
   */
  async #claimed(id: string): Promise<Refusal> {
    const claim = await fs.lstat(entryPath(this.directory, "c", id, ".log")).catch(() => undefined);
    if (claim !== undefined) {
      throw new StorageError(
        "filesystem",
        `the log of ${id} is being retired by a collector; the publish will be retried`,
        { transient: true },
      );
    }
    this.#own.delete(id);
    return await readTombstone(this.directory, id, this.#clock()) ?? { status: "lost", lost: "record" };
  }

  #ensureDirectory(): Promise<void> {
    return this.#ready ??= fs.mkdir(this.directory, { recursive: true, mode: 0o700 }).then(
      () => {},
      (error) => {
        this.#ready = undefined;
        const code = errorCode(error);
        if (code === "EEXIST" || code === "ENOTDIR") {
          // A file where the directory should be: no retry mends that.
          throw new ConfigError(
            "PROMETHEUS_MULTIPROC_DIR",
            `${this.directory} is not a directory (a file is in its place, or in the place of a parent); ` +
              "point PROMETHEUS_MULTIPROC_DIR (or multiprocDir) at a directory, or remove that file",
          );
        }
        throw fsError(`cannot create ${this.directory}; check PROMETHEUS_MULTIPROC_DIR`, error);
      },
    );
  }
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}
