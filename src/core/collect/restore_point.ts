/**
 * The restore point: what a process knows of storage beyond its own values, so that it can put
 * back what storage loses (a restart without persistence, FLUSHALL, eviction, expiry). It holds the
 * retired total (every publish answer carries it when its version changed) and, in a process that
 * serves scrapes, the other processes as last read. The publisher sends it with the whole state it
 * publishes after a loss; storage writes each part only where nothing stands in its place.
 * @module
 */
import type { MetricDescriptor, ProcessRecord, Restoration, RetiredTotal } from "../storage.ts";
import { readableRetired } from "./retire.ts";

/** Most series of other processes one restoration carries (the oldest heartbeats first). */
const MAX_RESTORED_SERIES = 10_000;

/** What one process knows of storage, to restore it. */
export class RestorePoint {
  #retired: RetiredTotal | undefined;
  #descriptors: ReadonlyMap<string, MetricDescriptor> = new Map();
  #processes: readonly ProcessRecord[] = [];
  /** The retired version the processes were read at: they go with that total only. */
  #processesVersion = -1;

  /** The retired version known, sent with each publish (an answer carries the total when it differs). */
  get retiredVersion(): number | undefined {
    return this.#retired?.version;
  }

  /** The retired total known, if any. */
  get retired(): RetiredTotal | undefined {
    return this.#retired;
  }

  /**
   * From a publish answer: the retired total at its version (each value from the copy that reads),
   * and the descriptors storage holds.
   */
  learn(retired: RetiredTotal, descriptors: ReadonlyMap<string, MetricDescriptor>): void {
    const state = {
      descriptors,
      processes: [],
      retired: retired.series,
      retiredCopy: retired.copy,
      retiredVersion: retired.version,
      corrupt: 0,
    };
    this.#retired = { version: retired.version, series: readableRetired(state).retired };
    if (descriptors.size > 0) this.#descriptors = descriptors;
  }

  /**
   * From a read, after its retirement: the retired total it stands on, the descriptors, and the
   * processes it found that were not retired.
   */
  saw(
    retired: RetiredTotal,
    descriptors: ReadonlyMap<string, MetricDescriptor>,
    processes: readonly ProcessRecord[],
  ): void {
    this.#retired = retired;
    this.#descriptors = descriptors;
    this.#processes = processes;
    this.#processesVersion = retired.version;
  }

  /**
   * What to put back after a loss, leaving out `ownId` (its whole state goes with the same publish);
   * undefined when nothing is known. Other processes go only with the retired total they were read
   * with: a process folded since would otherwise count twice.
   */
  restoration(ownId: string, withProcesses = true): Restoration | undefined {
    const retired = this.#retired;
    if (retired === undefined) return undefined;
    const processes: ProcessRecord[] = [];
    if (withProcesses && this.#processesVersion === retired.version) {
      let budget = MAX_RESTORED_SERIES;
      const byAge = [...this.#processes].sort((a, b) => a.heartbeat - b.heartbeat);
      for (const p of byAge) {
        if (p.id === ownId) continue;
        if (p.series.size > budget) break;
        budget -= p.series.size;
        processes.push(p);
      }
    }
    // An empty total (nothing folded yet) has nothing to put back; its version still ties the processes.
    const total = retired.series.size > 0 ? retired : undefined;
    if (total === undefined && processes.length === 0) return undefined;
    return { retired: total, descriptors: this.#descriptors, processes, version: retired.version };
  }
}
