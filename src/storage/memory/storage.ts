/**
 * The memory backend's state and its publish, read and retire rules: what `memory.ts` exports, and
 * what the metrics Durable Object keeps in memory in front of its SQLite tables (`MemoryJournal`).
 * @module
 */
import type {
  MetricDescriptor,
  ProcessRecord,
  ProcessUpdate,
  PublishOutcome,
  Restoration,
  Restored,
  Retirement,
  SeriesMap,
  Storage,
  StoredState,
} from "../../core/storage.ts";
import { NOTHING_RESTORED } from "../../core/storage.ts";

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Current time in milliseconds; tombstones expire by it. Defaults to `Date.now`. */
  readonly clock?: () => number;
  /** How long a retired process's folded values are kept for it, in ms. Default one day. */
  readonly tombstoneTtlMs?: number;
  /** Told of every change as it is made, by a backend that keeps this state elsewhere too. */
  readonly journal?: MemoryJournal;
  /** The state to start from, as a journal kept it. */
  readonly from?: MemorySnapshot;
}

/**
 * What a backend that persists a MemoryStorage's state (the Durable Object's SQLite) is told,
 * synchronously, of each change: the process records and series keys that changed, descriptors,
 * the retired total, tombstones.
 */
export interface MemoryJournal {
  /** Process `id` now reads as `record`; `changed` are the series keys written (every key when `replaced`). */
  process(id: string, record: ProcessRecord, changed: Iterable<string>, replaced: boolean): void;
  /** Process `id` is gone (retired). */
  removeProcess(id: string): void;
  /** A descriptor was set. */
  descriptor(name: string, descriptor: MetricDescriptor): void;
  /** The retired total is `series` at `version`; `changed` are the keys written. */
  retired(series: ReadonlyMap<string, string>, version: number, changed: Iterable<string>): void;
  /** A tombstone was set, or removed (`folded` undefined). */
  tombstone(id: string, folded: ReadonlyMap<string, string> | undefined, expires: number): void;
  /** Everything is gone. */
  clear(): void;
}

/** A MemoryStorage's whole state, as a journal keeps it. */
export interface MemorySnapshot {
  /** Every stored process. */
  readonly processes: readonly ProcessRecord[];
  /** Metric descriptors by name. */
  readonly descriptors: ReadonlyMap<string, MetricDescriptor>;
  /** The retired total. */
  readonly retired: ReadonlyMap<string, string>;
  /** The retired version. */
  readonly version: number;
  /** What was folded for each retired id, kept until `expires`. */
  readonly tombstones: ReadonlyArray<
    { readonly id: string; readonly folded: ReadonlyMap<string, string>; readonly expires: number }
  >;
}

interface Stored {
  heartbeat: number;
  exited: boolean;
  series: SeriesMap;
  /** A reader holds `series`: copy it before the next write (copy-on-write keeps reads O(1)). */
  lent: boolean;
}

/**
 * Storage in this process's memory.
 *
 * @example
 * ```ts
 * import { MemoryStorage } from "hono-prometheus-exporter/memory";
 * const storage = new MemoryStorage();
 * const state = await storage.read();
 * console.log(state.processes.length); // 0
 * ```
 */
export class MemoryStorage implements Storage {
  /** Always `memory`. */
  readonly kind = "memory";
  readonly #clock: () => number;
  #tombstoneTtlMs: number;
  readonly #processes = new Map<string, Stored>();
  readonly #tombstones = new Map<string, { folded: SeriesMap; expires: number }>();
  readonly #descriptors = new Map<string, MetricDescriptor>();
  #retired: SeriesMap = new Map();
  #version = 0;
  readonly #journal: MemoryJournal | undefined;

  /**
   * Creates an empty storage.
   * @param options Clock and tombstone lifetime.
   */
  constructor(options: MemoryStorageOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#tombstoneTtlMs = options.tombstoneTtlMs ?? 86_400_000;
    this.#journal = options.journal;
    const from = options.from;
    if (from === undefined) return;
    for (const p of from.processes) {
      this.#processes.set(p.id, { heartbeat: p.heartbeat, exited: p.exited, series: new Map(p.series), lent: false });
    }
    for (const [name, d] of from.descriptors) this.#descriptors.set(name, d);
    this.#retired = new Map(from.retired);
    this.#version = from.version;
    for (const t of from.tombstones) this.#tombstones.set(t.id, { folded: new Map(t.folded), expires: t.expires });
  }

  /** Applies one publish, or answers `lost` when what it acknowledged of the process is gone. */
  publish(update: ProcessUpdate): Promise<PublishOutcome> {
    return Promise.resolve(this.publishNow(update));
  }

  /** {@link publish}, answered at once. */
  publishNow(update: ProcessUpdate): PublishOutcome {
    const tomb = this.#tombstones.get(update.processId);
    if (tomb !== undefined && tomb.expires > this.#clock()) {
      return { status: "retired", folded: new Map(tomb.folded) };
    }
    let stored = this.#processes.get(update.processId);
    const expect = update.expect;
    if (expect !== undefined && !update.replace) {
      if (stored === undefined || (stored.heartbeat !== expect.heartbeat && stored.heartbeat !== expect.sent)) {
        return lost("record");
      }
      if (expect.descriptors && this.#descriptors.size === 0) return lost("descriptors");
      if (expect.retired && this.#retired.size === 0) return lost("retired");
    }
    let restored: Restored | undefined;
    if (update.replace) {
      stored = undefined;
      restored = this.#restore(update.restore);
    }
    for (const [name, d] of update.descriptors) {
      this.#descriptors.set(name, d);
      this.#journal?.descriptor(name, d);
    }
    const replaced = stored === undefined;
    if (stored === undefined) {
      stored = { heartbeat: update.heartbeat, exited: update.exited, series: new Map(), lent: false };
      this.#processes.set(update.processId, stored);
    }
    stored.heartbeat = Math.max(stored.heartbeat, update.heartbeat);
    stored.exited = update.exited;
    if (stored.lent && update.series.size > 0) {
      stored.series = new Map(stored.series);
      stored.lent = false;
    }
    for (const [key, value] of update.series) stored.series.set(key, value);
    this.#journal?.process(update.processId, this.#record(update.processId, stored), update.series.keys(), replaced);
    if (update.retiredVersion === this.#version) return { status: "ok", restored };
    return {
      status: "ok",
      retired: { version: this.#version, series: this.#retired },
      descriptors: new Map(this.#descriptors),
      restored,
    };
  }

  /** Puts back what `restore` holds, each part only where nothing stands in its place. */
  #restore(restore: Restoration | undefined): Restored {
    if (restore === undefined) return NOTHING_RESTORED;
    for (const [name, d] of restore.descriptors) {
      if (this.#descriptors.has(name)) continue;
      this.#descriptors.set(name, d);
      this.#journal?.descriptor(name, d);
    }
    const retired = restore.retired !== undefined && this.#retired.size === 0;
    if (retired) {
      this.#retired = new Map(restore.retired!.series);
      if (this.#version === 0) this.#version = restore.retired!.version;
      this.#journal?.retired(this.#retired, this.#version, this.#retired.keys());
    }
    let processes = 0;
    // Other processes go back only with the retired total they were read with.
    if (!retired && this.#version !== restore.version) return { retired, processes };
    for (const p of restore.processes) {
      if (this.#processes.has(p.id) || this.#tombstones.has(p.id)) continue;
      const stored = { heartbeat: p.heartbeat, exited: p.exited, series: new Map(p.series), lent: false };
      this.#processes.set(p.id, stored);
      this.#journal?.process(p.id, this.#record(p.id, stored), stored.series.keys(), true);
      processes++;
    }
    return { retired, processes };
  }

  /** Forgets everything, as a storage restarted without persistence does (for tests of recovery). */
  clear(): void {
    this.#processes.clear();
    this.#tombstones.clear();
    this.#descriptors.clear();
    this.#retired = new Map();
    this.#version = 0;
    this.#journal?.clear();
  }

  #record(id: string, s: Stored): ProcessRecord {
    return { id, heartbeat: s.heartbeat, exited: s.exited, series: s.series };
  }

  /** Removes the tombstones that have expired (otherwise removed at the next retirement). */
  sweep(): void {
    const now = this.#clock();
    for (const [id, t] of this.#tombstones) {
      if (t.expires > now) continue;
      this.#tombstones.delete(id);
      this.#journal?.tombstone(id, undefined, t.expires);
    }
  }

  /** How long the tombstones of later retirements are kept, in ms. */
  set tombstoneTtlMs(ms: number) {
    this.#tombstoneTtlMs = ms;
  }

  /** The oldest heartbeat of a stored process, or undefined when none is stored. */
  earliestHeartbeat(): number | undefined {
    let earliest: number | undefined;
    for (const s of this.#processes.values()) {
      earliest = earliest === undefined ? s.heartbeat : Math.min(earliest, s.heartbeat);
    }
    return earliest;
  }

  /** When the next tombstone expires, or undefined when none is kept. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const t of this.#tombstones.values()) next = next === undefined ? t.expires : Math.min(next, t.expires);
    return next;
  }

  /** Returns everything stored, as a snapshot later writes do not change. */
  read(): Promise<StoredState> {
    return Promise.resolve(this.readNow());
  }

  /** {@link read}, answered at once. */
  readNow(): StoredState {
    const processes: ProcessRecord[] = [];
    for (const [id, s] of this.#processes) {
      s.lent = true;
      processes.push({ id, heartbeat: s.heartbeat, exited: s.exited, series: s.series });
    }
    return {
      descriptors: new Map(this.#descriptors),
      processes,
      retired: this.#retired,
      retiredVersion: this.#version,
      corrupt: 0,
    };
  }

  /** Retires processes when nothing moved since the collector read them. */
  retire(retirement: Retirement): Promise<boolean> {
    return Promise.resolve(this.retireNow(retirement));
  }

  /** {@link retire}, answered at once. */
  retireNow(retirement: Retirement): boolean {
    if (retirement.expectedVersion !== this.#version) return false;
    for (const p of retirement.processes) {
      if (this.#processes.get(p.id)?.heartbeat !== p.heartbeat) return false;
    }
    const now = this.#clock();
    for (const p of retirement.processes) {
      const folded = this.#processes.get(p.id)!.series;
      this.#tombstones.set(p.id, { folded, expires: now + this.#tombstoneTtlMs });
      this.#processes.delete(p.id);
      this.#journal?.tombstone(p.id, folded, now + this.#tombstoneTtlMs);
      this.#journal?.removeProcess(p.id);
    }
    this.#retired = new Map(this.#retired); // readers may hold the previous map
    for (const [key, value] of retirement.retiredUpdates) this.#retired.set(key, value);
    this.#version++;
    this.#journal?.retired(this.#retired, this.#version, retirement.retiredUpdates.keys());
    this.sweep();
    return true;
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function lost(what: "record" | "descriptors" | "retired"): PublishOutcome {
  return { status: "lost", lost: what };
}

let shared: MemoryStorage | undefined;

/** The memory storage shared by every exporter of this process or isolate. */
export function sharedMemoryStorage(): MemoryStorage {
  return shared ??= new MemoryStorage();
}
