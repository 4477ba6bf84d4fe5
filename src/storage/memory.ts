/**
 * The memory backend: every exporter in one process or isolate shares it. It is the default for a
 * single process, and lets tests run many simulated processes against one storage and one clock.
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
} from "../core/storage.ts";
import { NOTHING_RESTORED } from "../core/storage.ts";

/** Options of {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Current time in milliseconds; tombstones expire by it. Defaults to `Date.now`. */
  readonly clock?: () => number;
  /** How long a retired process's folded values are kept for it, in ms. Default one day. */
  readonly tombstoneTtlMs?: number;
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
  readonly #tombstoneTtlMs: number;
  readonly #processes = new Map<string, Stored>();
  readonly #tombstones = new Map<string, { folded: SeriesMap; expires: number }>();
  readonly #descriptors = new Map<string, MetricDescriptor>();
  #retired: SeriesMap = new Map();
  #version = 0;

  /**
   * Creates an empty storage.
   * @param options Clock and tombstone lifetime.
   */
  constructor(options: MemoryStorageOptions = {}) {
    this.#clock = options.clock ?? Date.now;
    this.#tombstoneTtlMs = options.tombstoneTtlMs ?? 86_400_000;
  }

  /** Applies one publish, or answers `lost` when what it acknowledged of the process is gone. */
  publish(update: ProcessUpdate): Promise<PublishOutcome> {
    const tomb = this.#tombstones.get(update.processId);
    if (tomb !== undefined && tomb.expires > this.#clock()) {
      return Promise.resolve({ status: "retired", folded: new Map(tomb.folded) });
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
    for (const [name, d] of update.descriptors) this.#descriptors.set(name, d);
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
    if (update.retiredVersion === this.#version) return Promise.resolve({ status: "ok", restored });
    return Promise.resolve({
      status: "ok",
      retired: { version: this.#version, series: this.#retired },
      descriptors: new Map(this.#descriptors),
      restored,
    });
  }

  /** Puts back what `restore` holds, each part only where nothing stands in its place. */
  #restore(restore: Restoration | undefined): Restored {
    if (restore === undefined) return NOTHING_RESTORED;
    for (const [name, d] of restore.descriptors) if (!this.#descriptors.has(name)) this.#descriptors.set(name, d);
    const retired = restore.retired !== undefined && this.#retired.size === 0;
    if (retired) {
      this.#retired = new Map(restore.retired!.series);
      if (this.#version === 0) this.#version = restore.retired!.version;
    }
    let processes = 0;
    // Other processes go back only with the retired total they were read with.
    if (!retired && this.#version !== restore.version) return { retired, processes };
    for (const p of restore.processes) {
      if (this.#processes.has(p.id) || this.#tombstones.has(p.id)) continue;
      this.#processes.set(p.id, { heartbeat: p.heartbeat, exited: p.exited, series: new Map(p.series), lent: false });
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
  }

  /** Returns everything stored, as a snapshot later writes do not change. */
  read(): Promise<StoredState> {
    const processes: ProcessRecord[] = [];
    for (const [id, s] of this.#processes) {
      s.lent = true;
      processes.push({ id, heartbeat: s.heartbeat, exited: s.exited, series: s.series });
    }
    return Promise.resolve({
      descriptors: new Map(this.#descriptors),
      processes,
      retired: this.#retired,
      retiredVersion: this.#version,
      corrupt: 0,
    });
  }

  /** Retires processes when nothing moved since the collector read them. */
  retire(retirement: Retirement): Promise<boolean> {
    if (retirement.expectedVersion !== this.#version) return Promise.resolve(false);
    for (const p of retirement.processes) {
      if (this.#processes.get(p.id)?.heartbeat !== p.heartbeat) return Promise.resolve(false);
    }
    const now = this.#clock();
    for (const p of retirement.processes) {
      const folded = this.#processes.get(p.id)!.series;
      this.#tombstones.set(p.id, { folded, expires: now + this.#tombstoneTtlMs });
      this.#processes.delete(p.id);
    }
    this.#retired = new Map(this.#retired); // readers may hold the previous map
    for (const [key, value] of retirement.retiredUpdates) this.#retired.set(key, value);
    this.#version++;
    for (const [id, t] of this.#tombstones) if (t.expires <= now) this.#tombstones.delete(id);
    return Promise.resolve(true);
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function lost(what: "record" | "descriptors" | "retired"): Promise<PublishOutcome> {
  return Promise.resolve({ status: "lost", lost: what });
}

let shared: MemoryStorage | undefined;

/** The memory storage shared by every exporter of this process or isolate. */
export function sharedMemoryStorage(): MemoryStorage {
  return shared ??= new MemoryStorage();
}
