/**
 * The collector serves a scrape: it reads every process from storage, retires the dead ones
 * (folding their counters, histograms and summaries into the retired total, exactly once, by
 * compare-and-set), merges by mode and renders.
 * @module
 */
import { type MergeResult, mergeState } from "./merge.ts";
import { type ExpositionFormat, render } from "./render.ts";
import type { MetricDescriptor, ProcessRecord, Retirement, Storage, StoredState } from "./storage.ts";
import { combine } from "./values.ts";
import type { SeriesMap } from "./storage.ts";

/** What the collector reports, for the exporter's own metrics. */
export interface CollectorEvents {
  /** A storage read or retirement took `seconds`. */
  storageCall?(operation: "read" | "retire", seconds: number): void;
  /** `count` processes were retired by this collector. */
  retired?(count: number): void;
}

/** What a scrape found damaged in storage: counts as of this read, not accumulated. */
export interface StorageDamage {
  /** Records or series that could not be read (kept, skipped). */
  readonly corrupt: number;
  /** Entries that are not the backend's own (a directory or FIFO where a log belongs). */
  readonly strays: number;
  /** Damaged data set aside by the backend, kept until someone removes it. */
  readonly setAside: number;
  /** What is damaged, in words that say what to fix. */
  readonly problems: readonly string[];
}

/** A collection: the merged families and the damage found on the way. */
export interface Collection extends MergeResult {
  /** What was damaged in storage during this read. */
  readonly damage: StorageDamage;
}

/** Options of {@link Collector}. */
export interface CollectorOptions {
  /** Where the processes are. */
  readonly storage: Storage;
  /** Current time in milliseconds since the epoch. */
  readonly clock: () => number;
  /** A process that has not published for this long is no longer live (live modes drop it). */
  readonly staleAfterMs: number;
  /** A process that has not published for this long is retired. */
  readonly deadAfterMs: number;
  /** The label `all`/`liveall` gauges add to tell processes apart. */
  readonly processLabel: string;
  /** Hooks for the exporter's own metrics. */
  readonly events?: CollectorEvents;
}

/** Reads, retires, merges and renders. */
export class Collector {
  readonly #o: CollectorOptions;

  /**
   * Creates a collector.
   * @param options Storage, clock and the liveness limits.
   */
  constructor(options: CollectorOptions) {
    this.#o = options;
  }

  /** Collects the aggregate of every process and renders it in `format`. */
  async render(format: ExpositionFormat): Promise<string> {
    return render((await this.collect()).families.values(), format);
  }

  /**
   * Collects the aggregate of every process, retiring the dead on the way.
   * @param read The state, when it was read already (with this process's publish); else it is read.
   */
  async collect(read?: StoredState): Promise<Collection> {
    const o = this.#o;
    let started = performance.now();
    const stored = read ?? await o.storage.read();
    if (read === undefined) o.events?.storageCall?.("read", (performance.now() - started) / 1000);
    const { retired, unreadable } = readableRetired(stored);
    const state: StoredState = { ...stored, retired };
    const now = o.clock();
    const dead = state.processes.filter((p) => now - p.heartbeat > o.deadAfterMs);
    let merged: MergeResult;
    const isLive = (p: ProcessRecord) => !p.exited && now - p.heartbeat <= o.staleAfterMs;
    // A retired value that reads in neither copy is never folded over: the dead stay unretired
    // (still counted from their own data) until it is repaired.
    const retirement = dead.length > 0 && unreadable.length === 0 ? planRetirement(state, dead) : undefined;
    let committed = false;
    if (retirement !== undefined) {
      started = performance.now();
      committed = await o.storage.retire(retirement.request);
      o.events?.storageCall?.("retire", (performance.now() - started) / 1000);
    }
    if (committed && retirement !== undefined) {
      o.events?.retired?.(dead.length);
      merged = mergeState(
        { ...state, retired: retirement.retired },
        { isLive, processLabel: o.processLabel, exclude: new Set(dead.map((p) => p.id)) },
      );
    } else {
      // Not retired (nothing dead, or another collector got there first): the state as read
      // holds the same counter totals either way.
      merged = mergeState(state, { isLive, processLabel: o.processLabel });
    }
    const problems = [...(stored.problems ?? [])];
    if (unreadable.length > 0) {
      problems.push(
        `${unreadable.length} retired total(s) cannot be read in any copy (${unreadable.slice(0, 3).join(", ")}); ` +
          `dead processes are not retired until they are repaired`,
      );
    }
    return {
      ...merged,
      damage: {
        corrupt: stored.corrupt + merged.corrupt,
        strays: stored.strays ?? 0,
        setAside: stored.setAside ?? 0,
        problems,
      },
    };
  }
}

/**
 * The retired total with each value that does not read taken from the backend's second copy,
 * where it reads there; the keys that read in no copy are listed.
 */
export function readableRetired(state: StoredState): { retired: SeriesMap; unreadable: string[] } {
  const unreadable: string[] = [];
  let retired = state.retired;
  const copy = state.retiredCopy;
  const reads = (key: string, value: string | undefined): boolean => {
    if (value === undefined) return false;
    const d = descriptorOf(state, key);
    if (d === undefined || d.type === "gauge") return true; // not the retired total's to judge
    return combine(d.type, value, value, 1, d.buckets?.length ?? 0) !== undefined;
  };
  for (const [key, value] of state.retired) {
    if (reads(key, value)) continue;
    const other = copy?.get(key);
    if (other !== undefined && reads(key, other)) {
      if (retired === state.retired) retired = new Map(state.retired);
      retired.set(key, other);
    } else {
      unreadable.push(key);
    }
  }
  if (copy !== undefined) {
    for (const [key, value] of copy) {
      if (state.retired.has(key) || !reads(key, value)) continue;
      if (retired === state.retired) retired = new Map(state.retired);
      retired.set(key, value); // missing from the first copy
    }
  }
  return { retired, unreadable };
}

function descriptorOf(state: StoredState, key: string): MetricDescriptor | undefined {
  const brace = key.indexOf("{");
  return state.descriptors.get(brace === -1 ? key : key.slice(0, brace));
}

interface PlannedRetirement {
  readonly request: Retirement;
  readonly retired: Map<string, string>;
}

/** Computes the retired total after folding `dead` into it. Gauges are dropped, not folded. */
export function planRetirement(state: StoredState, dead: readonly ProcessRecord[]): PlannedRetirement {
  const retired = new Map(state.retired);
  const updates = new Map<string, string>();
  for (const process of dead) {
    for (const [key, value] of process.series) {
      const d = descriptorOf(state, key);
      if (d === undefined || d.type === "gauge") continue;
      const before = retired.get(key);
      // The total reads (checked before planning); a dead process's own unreadable value is
      // left out of the fold rather than allowed to overwrite the total.
      const buckets = d.buckets?.length ?? 0;
      const after = before === undefined
        ? (combine(d.type, value, value, 1, buckets) === undefined ? undefined : value)
        : combine(d.type, before, value, 1, buckets);
      if (after === undefined) continue;
      retired.set(key, after);
      updates.set(key, after);
    }
  }
  return {
    request: {
      expectedVersion: state.retiredVersion,
      processes: dead.map((p) => ({ id: p.id, heartbeat: p.heartbeat })),
      retiredUpdates: updates,
    },
    retired,
  };
}
