/**
 * The filesystem backend: many processes on one host share a directory (`PROMETHEUS_MULTIPROC_DIR`).
 *
 * Layout, all files 0600 in a 0700 directory; every record is a line sealed with a checksum:
 * - `p-<id>.log`: one process's publishes, one line each, appended with one write. Readers use
 *   complete lines that pass their checksum, so no reader sees a torn or damaged publish. The
 *   owner compacts it into one full line (written aside, then renamed over) once it grows past a
 *   few times its compacted size, and at once when its log was damaged (`r-<id>.repair`).
 * - `retired-a.json`, `retired-b.json`: two copies of the retired total (see `filesystem_retired.ts`).
 * - `c-<id>.log`: a log claimed for retirement (renamed from `p-`); counted by readers until the
 *   retired total that folds it is committed, then removed.
 * - `t-<id>.json`: what was folded for a retired id, so a process retired by mistake learns it.
 * - `retire.lock/`: held (mkdir is atomic) while a collector retires or a process compacts.
 * - `*.bad`: damaged data moved aside, never deleted by the library: reported until removed.
 * @module
 */
import { Buffer } from "node:buffer";
import { constants, type Dirent, type Stats } from "node:fs";
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
import { type LogLine, LogState, openLine, parseLog, sealLine } from "./filesystem_log.ts";
import { readRetired, RETIRED_COPIES, type RetiredFile, writeRetired } from "./filesystem_retired.ts";

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
}

/** How many problems a read describes in words (the counts cover all of them). */
const MAX_PROBLEMS = 5;
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
  readonly #readTimeoutMs: number;
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
    this.#readTimeoutMs = options.readTimeoutMs ?? 5_000;
  }

  /** Appends one publish to this process's log, in one write. */
  async publish(update: ProcessUpdate): Promise<PublishOutcome> {
    await this.#ensureDirectory();
    const id = checkId(update.processId);
    const path = this.#path("p", id, ".log");
    const known = this.#own.get(id);
    if (known === undefined) {
      const retired = await this.#tombstone(id);
      if (retired !== undefined) return retired;
    }
    const own: Own = known ??
      { series: new Map(), descriptors: new Map(), heartbeat: 0, bytes: 0, compactedBytes: 0, size: 0 };
    const line: LogLine = { h: update.heartbeat, s: Object.fromEntries(update.series) };
    if (update.exited) line.x = 1;
    if (update.descriptors.size > 0) line.d = Object.fromEntries(update.descriptors);
    const text = sealLine(line);
    const bytes = Buffer.byteLength(text);
    // After the first publish the log is never created again: a missing log means it was claimed.
    const flags = known !== undefined
      ? constants.O_WRONLY | constants.O_APPEND
      : constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT;
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(path, flags, 0o600);
    } catch (error) {
      if (code(error) === "ENOENT" && known !== undefined) return await this.#claimed(id);
      throw this.#error(
        `cannot ${known === undefined ? "create" : "open"} ${path}; PROMETHEUS_MULTIPROC_DIR must be a ` +
          `directory this process can write`,
        error,
      );
    }
    let size: number;
    let repair: boolean;
    try {
      await handle.write(text);
      // A collector may have claimed the log between our open and our write: then the write went
      // to the claimed file and may not have been counted, so this publish is not acknowledged.
      const [mine, current, asked] = await Promise.all([
        handle.stat(),
        fs.stat(path).catch(() => undefined),
        fs.access(this.#repairPath(id)).then(() => true, () => false),
      ]);
      if (current === undefined || !sameFile(mine, current)) return await this.#claimed(id);
      size = mine.size;
      repair = asked;
    } finally {
      await handle.close();
    }
    this.#own.set(id, own);
    for (const [name, d] of update.descriptors) own.descriptors.set(name, d);
    for (const [key, value] of update.series) own.series.set(key, value);
    own.heartbeat = update.heartbeat;
    own.bytes += bytes;
    // Truncated, or written to by someone else, or found damaged by a reader: rewrite it whole.
    const damaged = repair || size !== own.size + bytes;
    own.size = size;
    if (damaged) await this.#compact(id, own, update.exited, true);
    else if (own.bytes > Math.max(64 * 1024, 4 * own.compactedBytes)) await this.#compact(id, own, update.exited);
    return { status: "ok" };
  }

  /** Reads every process log and the retired total, within `readTimeoutMs`. */
  async read(): Promise<StoredState> {
    await this.#ensureDirectory();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(this.#error(`reading ${this.directory} took longer than ${this.#readTimeoutMs} ms`, undefined)),
        this.#readTimeoutMs,
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
      if (attempt === 5) throw this.#error("the directory kept changing while it was read", undefined);
    }
  }

  async #readOnce(): Promise<StoredState | undefined> {
    const entries = await fs.readdir(this.directory, { withFileTypes: true });
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
        if (code(error) === "ENOENT") return undefined;
        throw this.#error(`cannot read ${join(this.directory, name)}`, error);
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
      if (state === undefined) state = new LogState();
      else if (stat.size < state.offset) state.truncated = true;
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

  /** Leaves `r-<id>.repair` for the owner of a damaged log, which rewrites its full state. */
  async #askRepair(id: string): Promise<void> {
    await fs.writeFile(this.#repairPath(id), "", { flag: "wx", mode: 0o600 }).catch(() => {});
  }

  /** Retires processes under the directory lock when nothing moved since the collector read. */
  async retire(retirement: Retirement): Promise<boolean> {
    await this.#ensureDirectory();
    if (!(await this.#lock())) return false;
    const claimed: string[] = [];
    try {
      const retired = await readRetired(this.directory);
      if (retired.file.version !== retirement.expectedVersion) return false;
      const folded = new Map<string, { series: SeriesMap; descriptors: Map<string, MetricDescriptor> }>();
      const damagedLogs = new Set<string>();
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
        if (parsed.damaged) damagedLogs.add(id);
        folded.set(id, { series: record.series, descriptors: parsed.descriptors });
      }
      const expires = this.#clock() + this.#tombstoneTtlMs;
      for (const [id, record] of folded) {
        await this.#writeAtomically(
          this.#path("t", id, ".json"),
          sealLine({ expires, folded: Object.fromEntries(record.series) }),
        );
      }
      const next: RetiredFile = {
        version: retired.file.version + 1,
        ids: [...retired.file.ids.filter((id) => !folded.has(id)), ...folded.keys()],
        descriptors: { ...retired.file.descriptors },
        series: { ...retired.file.series, ...Object.fromEntries(retirement.retiredUpdates) },
      };
      for (const record of folded.values()) Object.assign(next.descriptors, Object.fromEntries(record.descriptors));
      // The commit point: both copies written (damaged ones moved aside first, never overwritten).
      await writeRetired(
        this.directory,
        next,
        retired.damaged,
        this.#clock(),
        (path, text) => this.#writeAtomically(path, text),
      );
      claimed.length = 0;
      await this.#cleanUp(next, damagedLogs);
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
    if (!(await this.#lock())) return; // try again after the next publish
    try {
      // Under the lock no collector can claim the log, so replacing it cannot resurrect a retired id.
      const path = this.#path("p", id, ".log");
      if (await fs.stat(path).catch(() => undefined)) {
        if (damaged) await fs.link(path, join(this.directory, `p-${id}.${this.#clock()}.bad`)).catch(() => {});
        await this.#writeAtomically(path, text);
        own.bytes = own.compactedBytes = own.size = Buffer.byteLength(text);
        if (damaged) await fs.unlink(this.#repairPath(id)).catch(() => {});
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
      { transient: true },
    );
  }

  async #tombstone(id: string): Promise<PublishOutcome | undefined> {
    let text: string;
    try {
      text = await fs.readFile(this.#path("t", id, ".json"), "utf8");
    } catch {
      return undefined;
    }
    const tomb = openLine(text.replace(/\n$/, "")) as { expires: number; folded: Record<string, string> } | undefined;
    if (tomb === undefined || typeof tomb.folded !== "object" || tomb.folded === null) {
      // Folded, but what was folded cannot be read: refuse rather than count this process twice.
      throw new StorageError(
        "filesystem",
        `${this.#path("t", id, ".json")} is damaged: ${id} was retired, and what was folded cannot be read`,
      );
    }
    if (!(tomb.expires > this.#clock())) return undefined;
    return { status: "retired", folded: new Map(Object.entries(tomb.folded)) };
  }

  async #rollBack(claimed: string[], result: boolean): Promise<boolean> {
    for (const id of claimed.splice(0)) {
      await fs.rename(this.#path("c", id, ".log"), this.#path("p", id, ".log")).catch(() => {});
    }
    return result;
  }

  async #cleanUp(retired: RetiredFile, damagedLogs: ReadonlySet<string>): Promise<void> {
    const now = this.#clock();
    const ids = new Set(retired.ids);
    for (const name of await fs.readdir(this.directory)) {
      const path = join(this.directory, name);
      if (name.startsWith("c-") && name.endsWith(".log") && ids.has(name.slice(2, -4))) {
        const id = name.slice(2, -4);
        // A damaged log was folded as far as it reads; what does not read is kept for inspection.
        if (damagedLogs.has(id)) await fs.rename(path, join(this.directory, `c-${id}.${now}.bad`)).catch(() => {});
        else await fs.unlink(path).catch(() => {});
      } else if (name.startsWith("r-") && name.endsWith(".repair") && ids.has(name.slice(2, -7))) {
        await fs.unlink(path).catch(() => {});
      } else if (name.startsWith("t-") && name.endsWith(".json")) {
        const text = await fs.readFile(path, "utf8").catch(() => "");
        const tomb = openLine(text.replace(/\n$/, "")) as { expires?: number } | undefined;
        if (tomb !== undefined && !((tomb.expires ?? 0) > now)) await fs.unlink(path).catch(() => {});
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

  #repairPath(id: string): string {
    return join(this.directory, `r-${id}.repair`);
  }

  #error(message: string, cause: unknown): StorageError {
    const detail = cause instanceof Error ? `: ${cause.message}` : "";
    return new StorageError("filesystem", `${message}${detail}`, { cause });
  }
}

/** What a directory entry is to this backend, by its name. */
function classify(name: string): "log" | "ours" | "bad" | "other" {
  if (name.endsWith(".bad")) return "bad";
  if ((name.startsWith("p-") || name.startsWith("c-")) && name.endsWith(".log")) return "log";
  if (RETIRED_COPIES.includes(name) || name === "retire.lock" || name === "slots" || name.includes(".tmp-")) {
    return "ours";
  }
  if (name.startsWith("t-") && name.endsWith(".json")) return "ours";
  if (name.startsWith("r-") && name.endsWith(".repair")) return "ours";
  return "other";
}

function describeType(entry: Dirent): string {
  if (entry.isDirectory()) return "a directory";
  if (entry.isFIFO()) return "a FIFO";
  if (entry.isSymbolicLink()) return "a symbolic link";
  if (entry.isSocket()) return "a socket";
  return "not a regular file";
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
