/**
 * The collector serves a scrape: it reads every process from storage, has the dead retired
 * (`retire.ts`), merges by mode (`merge.ts`) and hands the families to the renderer.
 * @module
 */
import { type MergeResult, mergeState } from "./merge.ts";
import { type ExpositionFormat, render } from "../render/render.ts";
import type { ProcessRecord, Storage, StoredState } from "../storage.ts";
import { readableRetired, retireDead } from "./retire.ts";
import type { RestorePoint } from "./restore_point.ts";

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
  /** Told what each read found (after its retirement), to put it back should storage lose it. */
  readonly restorePoint?: RestorePoint;
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
    const started = performance.now();
    const stored = read ?? await o.storage.read();
    if (read === undefined) o.events?.storageCall?.("read", (performance.now() - started) / 1000);
    const { retired, unreadable } = readableRetired(stored);
    const state: StoredState = { ...stored, retired };
    const now = o.clock();
    const isLive = (p: ProcessRecord) => !p.exited && now - p.heartbeat <= o.staleAfterMs;
    const retirement = await retireDead(o.storage, state, now, o.deadAfterMs, unreadable);
    if (retirement.seconds !== undefined) o.events?.storageCall?.("retire", retirement.seconds);
    if (retirement.ids.size > 0) o.events?.retired?.(retirement.ids.size);
    o.restorePoint?.saw(
      retirement.retired === undefined
        ? { version: state.retiredVersion, series: state.retired }
        : { version: state.retiredVersion + 1, series: retirement.retired },
      state.descriptors,
      retirement.ids.size === 0 ? state.processes : state.processes.filter((p) => !retirement.ids.has(p.id)),
    );
    const merged: MergeResult = mergeState(
      { ...state, retired: retirement.retired ?? state.retired },
      { isLive, processLabel: o.processLabel, exclude: retirement.ids },
    );
    const problems = [...(stored.problems ?? [])];
    if (merged.corrupt > 0) {
      problems.push(`${merged.corrupt} stored series do not read, e.g. ${merged.corruptExamples.join(", ")}`);
    }
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
