/**
 * The filesystem backend: many processes on one host share a directory (`PROMETHEUS_MULTIPROC_DIR`).
 *
 * Layout, all files 0600 in a 0700 directory:
 * - `p-<id>.log`: one process's publishes, one JSON line each, appended with one write. Readers use
 *   complete lines only, so no reader sees a torn publish. The owner compacts it into one full line
 *   (written aside, then renamed over) once it grows past a few times its compacted size.
 * - `retired.json`: the retired total, its version, and the ids it has folded; replaced by rename.
 * - `c-<id>.log`: a log claimed for retirement (renamed from `p-`); counted by readers until the
 *   retired total that folds it is committed, then removed.
 * - `t-<id>.json`: what was folded for a retired id, so a process retired by mistake learns it.
 * - `retire.lock/`: held (mkdir is atomic) while a collector retires or a process compacts.
 * @module
 */
import { Buffer } from "node:buffer";
import { constants, type Stats } from "node:fs";
import * as fs from "node:fs/promises";
import { join } from "node:path";
import { StorageError } from "../core/errors.ts";
import type {
  MetricDescriptor,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Retirement,
  SeriesMap,
  Storage,
  StoredState,
} from "../core/storage.ts";

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
}

interface LogLine {
  h: number;
  x?: 1;
  d?: Record<string, MetricDescriptor>;
  s: Record<string, string>;
}

interface RetiredFile {
  version: number;
  ids: string[];
  descriptors: Record<string, MetricDescriptor>;
  series: Record<string, string>;
}

interface Own {
  /** Everything this process has published, for compaction. */
  readonly series: Map<string, string>;
  readonly descriptors: Map<string, MetricDescriptor>;
  heartbeat: number;
  bytes: number;
  compactedBytes: number;
}

const EMPTY_RETIRED: RetiredFile = { version: 0, ids: [], descriptors: {}, series: {} };
const ID_PATTERN = /^[A-Za-z0-9._-]{1,200}$/;

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
  readonly #clock: () => number;
  readonly #tombstoneTtlMs: number;
  readonly #lockStaleMs: number;
  readonly #own = new Map<string, Own>();
  /** Replayed logs by device and inode, so that a scrape reads only what was appended since the last. */
  #logs = new Map<string, LogState>();
  #ready: Promise<void> | undefined;

  /**
   * Uses `options.directory`, creating it on first use.
   * @param options Directory, clock and lifetimes.
   */
  constructor(options: FilesystemStorageOptions) {
    if (typeof options.directory !== "string" || options.directory === "") {
      throw new StorageError("filesystem", "no directory given; set PROMETHEUS_MULTIPROC_DIR or the directory option");
    }
    this.directory = options.directory;
    this.#clock = options.clock ?? Date.now;
    this.#tombstoneTtlMs = options.tombstoneTtlMs ?? 86_400_000;
    this.#lockStaleMs = options.lockStaleMs ?? 30_000;
  }

  /** Appends one publish to this process's log, in one write. */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    await this.#ensureDirectory();
    const id = checkId(update.processId);
    const path = this.#path("p", id, ".log");
    let own = this.#own.get(id);
    if (own === undefined) {
      const retired = await this.#tombstone(id);
      if (retired !== undefined) return retired;
      own = { series: new Map(), descriptors: new Map(), heartbeat: 0, bytes: 0, compactedBytes: 0 };
    }
    const line: LogLine = { h: update.heartbeat, s: Object.fromEntries(update.series) };
    if (update.exited) line.x = 1;
    if (update.descriptors.size > 0) line.d = Object.fromEntries(update.descriptors);
    const text = `${JSON.stringify(line)}\n`;
    // After the first publish the log is never created again: a missing log means it was claimed.
    const flags = this.#own.has(id)
      ? constants.O_WRONLY | constants.O_APPEND
      : constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, flags, 0o600);
    } catch (error) {
      if (code(error) === "ENOENT") return await this.#claimed(id);
      throw this.#error(`cannot open ${path}`, error);
    }
    try {
      await handle.write(text);
      // A collector may have claimed the log between our open and our write: then the write went
      // to the claimed file and may not have been counted, so this publish is not acknowledged.
      const [mine, current] = await Promise.all([handle.stat(), fs.stat(path).catch(() => undefined)]);
      if (current === undefined || !sameFile(mine, current)) return await this.#claimed(id);
    } finally {
      await handle.close();
    }
    this.#own.set(id, own);
    for (const [name, d] of update.descriptors) own.descriptors.set(name, d);
    for (const [key, value] of update.series) own.series.set(key, value);
    own.heartbeat = update.heartbeat;
    own.bytes += text.length;
    if (own.bytes > Math.max(64 * 1024, 4 * own.compactedBytes)) await this.#compact(id, own, update.exited);
    return { status: "ok" };
  }

  /** Reads every process log and the retired total. */
  async read(): Promise<StoredState> {
    await this.#ensureDirectory();
    for (let attempt = 0;; attempt++) {
      const state = await this.#readOnce();
      // A log vanished between listing and reading (claimed, then folded): read again.
      if (state !== undefined) return state;
      if (attempt === 5) throw this.#error("the directory kept changing while it was read", undefined);
    }
  }

  async #readOnce(): Promise<StoredState | undefined> {
    const names = await fs.readdir(this.directory);
    const retired = await this.#readRetired();
    const seen = new Map<string, LogState>();
    const folded = new Set(retired.file.ids);
    const descriptors = new Map(Object.entries(retired.file.descriptors));
    const processes: ProcessRecord[] = [];
    let corrupt = retired.corrupt ? 1 : 0;
    for (const name of names) {
      const kind = classify(name);
      if (kind === "other") {
        corrupt++;
        continue;
      }
      if (kind !== "log") continue;
      const id = name.slice(2, -4);
      if (name.startsWith("c-") && folded.has(id)) continue;
      let state: LogState;
      try {
        state = await this.#catchUp(join(this.directory, name), seen);
      } catch (error) {
        if (code(error) === "ENOENT") return undefined;
        throw this.#error(`cannot read ${name}`, error);
      }
      corrupt += state.corrupt;
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
    };
  }

  /**
   * Brings the replayed state of one log up to date, reading only the bytes appended since the
   * last scrape; a new file (compacted, or another process's) is read whole.
   */
  async #catchUp(path: string, seen: Map<string, LogState>): Promise<LogState> {
    const handle = await fs.open(path, "r");
    try {
      const stat = await handle.stat();
      const key = `${stat.dev}:${stat.ino}`;
      let state = this.#logs.get(key);
      if (state === undefined || stat.size < state.offset) state = new LogState();
      if (stat.size > state.offset) {
        const buffer = Buffer.alloc(stat.size - state.offset);
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, state.offset);
        state.apply(buffer.subarray(0, bytesRead).toString("utf8"));
      }
      seen.set(key, state);
      return state;
    } finally {
      await handle.close();
    }
  }

  /** Retires processes under the directory lock when nothing moved since the collector read. */
  async retire(retirement: Retirement): Promise<boolean> {
    await this.#ensureDirectory();
    if (!(await this.#lock())) return false;
    const claimed: string[] = [];
    try {
      const retired = await this.#readRetired();
      if (retired.file.version !== retirement.expectedVersion) return false;
      const folded = new Map<string, ProcessRecord & { descriptors: Map<string, MetricDescriptor> }>();
      for (const p of retirement.processes) {
        const id = checkId(p.id);
        try {
          await fs.rename(this.#path("p", id, ".log"), this.#path("c", id, ".log"));
        } catch {
          return await this.#rollBack(claimed, false);
        }
        claimed.push(id);
        const parsed = parseLog(await fs.readFile(this.#path("c", id, ".log"), "utf8"));
        const record = parsed.record();
        if (record === undefined || record.heartbeat !== p.heartbeat) return await this.#rollBack(claimed, false);
        folded.set(id, { id, ...record, descriptors: parsed.descriptors });
      }
      const expires = this.#clock() + this.#tombstoneTtlMs;
      for (const [id, record] of folded) {
        await this.#writeAtomically(
          this.#path("t", id, ".json"),
          JSON.stringify({ expires, folded: Object.fromEntries(record.series) }),
        );
      }
      const next: RetiredFile = {
        version: retired.file.version + 1,
        ids: [...retired.file.ids.filter((id) => !folded.has(id)), ...folded.keys()],
        descriptors: { ...retired.file.descriptors },
        series: { ...retired.file.series, ...Object.fromEntries(retirement.retiredUpdates) },
      };
      for (const record of folded.values()) Object.assign(next.descriptors, Object.fromEntries(record.descriptors));
      if (retired.corrupt) {
        await fs.rename(this.#retiredPath(), join(this.directory, `retired.corrupt-${this.#clock()}.bad`)).catch(
          () => {},
        );
      }
      await this.#writeAtomically(this.#retiredPath(), JSON.stringify(next)); // the commit point
      claimed.length = 0;
      await this.#cleanUp(next);
      return true;
    } finally {
      if (claimed.length > 0) await this.#rollBack(claimed, false);
      await this.#unlock();
    }
  }

  /** Nothing stays open between calls. */
  close(): Promise<void> {
    return Promise.resolve();
  }

  async #compact(id: string, own: Own, exited: boolean): Promise<void> {
    const line: LogLine = {
      h: own.heartbeat,
      s: Object.fromEntries(own.series),
      d: Object.fromEntries(own.descriptors),
    };
    if (exited) line.x = 1;
    const text = `${JSON.stringify(line)}\n`;
    if (!(await this.#lock())) return; // try again after the next publish
    try {
      // Under the lock no collector can claim the log, so replacing it cannot resurrect a retired id.
      if (await fs.stat(this.#path("p", id, ".log")).catch(() => undefined)) {
        await this.#writeAtomically(this.#path("p", id, ".log"), text);
        own.bytes = own.compactedBytes = text.length;
      }
    } finally {
      await this.#unlock();
    }
  }

  /** The outcome for a log that is gone: retired (with what was folded), or a retirement under way. */
  async #claimed(id: string): Promise<PublishOutcome> {
    const retired = await this.#tombstone(id);
    if (retired !== undefined) {
      this.#own.delete(id);
      return retired;
    }
    throw new StorageError(
      "filesystem",
      `the log of ${id} is being retired by a collector; the publish will be retried`,
    );
  }

  async #tombstone(id: string): Promise<PublishOutcome | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.#path("t", id, ".json"), "utf8");
    } catch {
      return undefined;
    }
    try {
      const tomb = JSON.parse(text) as { expires: number; folded: Record<string, string> };
      if (tomb.expires <= this.#clock()) return undefined;
      return { status: "retired", folded: new Map(Object.entries(tomb.folded)) };
    } catch {
      return undefined;
    }
  }

  async #readRetired(): Promise<{ file: RetiredFile; corrupt: boolean }> {
    let text: string;
    try {
      text = await fs.readFile(this.#retiredPath(), "utf8");
    } catch (error) {
      if (code(error) === "ENOENT") return { file: EMPTY_RETIRED, corrupt: false };
      throw this.#error("cannot read retired.json", error);
    }
    try {
      const file = JSON.parse(text) as RetiredFile;
      if (typeof file.version !== "number" || !Array.isArray(file.ids) || typeof file.series !== "object") {
        throw new Error("shape");
      }
      return { file: { ...file, descriptors: file.descriptors ?? {} }, corrupt: false };
    } catch {
      return { file: EMPTY_RETIRED, corrupt: true };
    }
  }

  async #rollBack(claimed: string[], result: boolean): Promise<boolean> {
    for (const id of claimed.splice(0)) {
      await fs.rename(this.#path("c", id, ".log"), this.#path("p", id, ".log")).catch(() => {});
    }
    return result;
  }

  async #cleanUp(retired: RetiredFile): Promise<void> {
    const now = this.#clock();
    for (const name of await fs.readdir(this.directory)) {
      if (name.startsWith("c-") && name.endsWith(".log") && retired.ids.includes(name.slice(2, -4))) {
        await fs.unlink(join(this.directory, name)).catch(() => {});
      } else if (name.startsWith("t-") && name.endsWith(".json")) {
        const tomb = await fs.readFile(join(this.directory, name), "utf8").then(JSON.parse).catch(() => undefined);
        if (tomb !== undefined && !(tomb.expires > now)) await fs.unlink(join(this.directory, name)).catch(() => {});
      }
    }
  }

  async #lock(): Promise<boolean> {
    const path = join(this.directory, "retire.lock");
    for (let attempt = 0; attempt < 200; attempt++) {
      try {
        await fs.mkdir(path, { mode: 0o700 });
        return true;
      } catch (error) {
        if (code(error) !== "EEXIST") throw this.#error("cannot take retire.lock", error);
        const stat = await fs.stat(path).catch(() => undefined);
        if (stat !== undefined && this.#clock() - stat.mtimeMs > this.#lockStaleMs) {
          await fs.rmdir(path).catch(() => {});
        }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    return false;
  }

  async #unlock(): Promise<void> {
    await fs.rmdir(join(this.directory, "retire.lock")).catch(() => {});
  }

  async #writeAtomically(path: string, text: string): Promise<void> {
    const tmp = `${path}.tmp-${crypto.randomUUID()}`;
    await fs.writeFile(tmp, text, { mode: 0o600 });
    await fs.rename(tmp, path);
  }

  #ensureDirectory(): Promise<void> {
    return this.#ready ??= fs.mkdir(this.directory, { recursive: true, mode: 0o700 }).then(
      () => {},
      (error) => {
        this.#ready = undefined;
        throw this.#error(`cannot create ${this.directory}; check PROMETHEUS_MULTIPROC_DIR`, error);
      },
    );
  }

  #path(prefix: "p" | "c" | "t", id: string, suffix: string): string {
    return join(this.directory, `${prefix}-${id}${suffix}`);
  }

  #retiredPath(): string {
    return join(this.directory, "retired.json");
  }

  #error(message: string, cause: unknown): StorageError {
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    return new StorageError("filesystem", `${message}${detail}`, { cause });
  }
}

/** A log replayed up to `offset`: later lines override earlier ones. */
export class LogState {
  series: SeriesMap = new Map();
  descriptors: Map<string, MetricDescriptor> = new Map();
  heartbeat: number | undefined;
  exited = false;
  /** Bytes consumed: up to the end of the last complete line. */
  offset = 0;
  /** Complete lines that could not be read, so far. */
  corrupt = 0;
  /** A reader holds `series`: copy before applying more lines. */
  lent = false;

  /** Applies the complete lines of `text` (the bytes after `offset`); a torn last line waits. */
  apply(text: string): void {
    const end = text.lastIndexOf("\n");
    if (end === -1) return;
    if (this.lent) {
      this.series = new Map(this.series);
      this.lent = false;
    }
    for (const raw of text.slice(0, end).split("\n")) {
      if (raw === "") continue;
      let line: LogLine;
      try {
        line = JSON.parse(raw);
        if (typeof line.h !== "number" || typeof line.s !== "object" || line.s === null) throw new Error("shape");
      } catch {
        this.corrupt++;
        continue;
      }
      this.heartbeat = line.h;
      this.exited = line.x === 1;
      if (line.d !== undefined) { for (const name in line.d) this.descriptors.set(name, line.d[name]); }
      for (const key in line.s) {
        const value = line.s[key];
        if (typeof value === "string") this.series.set(key, value);
      }
    }
    this.offset += Buffer.byteLength(text.slice(0, end + 1));
  }

  /** The record so far, or undefined before the first complete line. */
  record(): Omit<ProcessRecord, "id"> | undefined {
    if (this.heartbeat === undefined) return undefined;
    this.lent = true;
    return { heartbeat: this.heartbeat, exited: this.exited, series: this.series };
  }
}

/** Replays a whole log. */
export function parseLog(text: string): LogState {
  const state = new LogState();
  state.apply(text);
  return state;
}

function classify(name: string): "log" | "ours" | "other" {
  if ((name.startsWith("p-") || name.startsWith("c-")) && name.endsWith(".log")) return "log";
  if (
    name === "retired.json" || name === "retire.lock" || name === "slots" || name.includes(".tmp-") ||
    name.endsWith(".bad")
  ) {
    return "ours";
  }
  if (name.startsWith("t-") && name.endsWith(".json")) return "ours";
  return "other";
}

function checkId(id: string): string {
  if (!ID_PATTERN.test(id)) throw new StorageError("filesystem", `process id ${JSON.stringify(id)} cannot name a file`);
  return id;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.ino === b.ino && a.dev === b.dev;
}

function code(error: unknown): string | undefined {
  return (error as { code?: string } | null)?.code;
}
