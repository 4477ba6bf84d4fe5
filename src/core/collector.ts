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

/** What the collector reports, for the exporter's own metrics. */
export interface CollectorEvents {
  /** A storage read or retirement took `seconds`. */
  storageCall?(operation: "read" | "retire", seconds: number): void;
  /** `count` processes were retired by this collector. */
  retired?(count: number): void;
  /** `count` stored records or series were corrupt and skipped. */
  corrupt?(count: number): void;
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

  /** Collects the aggregate of every process, retiring the dead on the way. */
  async collect(): Promise<MergeResult> {
    const o = this.#o;
    let started = performance.now();
    const state = await o.storage.read();
    o.events?.storageCall?.("read", (performance.now() - started) / 1000);
    const now = o.clock();
    const dead = state.processes.filter((p) => now - p.heartbeat > o.deadAfterMs);
    let merged: MergeResult;
    const isLive = (p: ProcessRecord) => !p.exited && now - p.heartbeat <= o.staleAfterMs;
    const retirement = dead.length > 0 ? planRetirement(state, dead) : undefined;
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
    const corrupt = state.corrupt + merged.corrupt;
    if (corrupt > 0) o.events?.corrupt?.(corrupt);
    return merged;
  }
}

interface PlannedRetirement {
  readonly request: Retirement;
  readonly retired: Map<string, string>;
}

/** Computes the retired total after folding `dead` into it. Gauges are dropped, not folded. */
export function planRetirement(state: StoredState, dead: readonly ProcessRecord[]): PlannedRetirement {
  const retired = new Map(state.retired);
  const updates = new Map<string, string>();
  const descriptorOf = (key: string): MetricDescriptor | undefined => {
    const brace = key.indexOf("{");
    return state.descriptors.get(brace === -1 ? key : key.slice(0, brace));
  };
  for (const process of dead) {
    for (const [key, value] of process.series) {
      const d = descriptorOf(key);
      if (d === undefined || d.type === "gauge") continue;
      const before = retired.get(key);
      // An unreadable total is replaced rather than allowed to swallow this process's values.
      const after = before === undefined ? value : combine(d.type, before, value, 1, d.buckets?.length ?? 0) ?? value;
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
