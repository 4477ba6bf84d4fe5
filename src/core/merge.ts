/**
 * The merge: turns the stored state of every process into one value per exposed series.
 * Counters, histograms and summaries sum over live, dead-not-yet-retired and retired processes;
 * gauges follow their multiprocess mode. Pure and synchronous, so it is easy to test.
 * @module
 */
import { modeRule } from "./modes.ts";
import { appendLabel, splitSeriesKey } from "./series.ts";
import type { MetricDescriptor, ProcessRecord, SeriesMap, StoredState } from "./storage.ts";
import { decodeCounter, decodeGauge, decodeHistogram, decodeSummary, type HistogramValue } from "./values.ts";

/** A histogram or summary being summed. */
export interface Distribution {
  /** Sum of observations. */
  sum: number;
  /** Number of observations. */
  count: number;
  /** Cumulative finite bucket counts (histograms only). */
  buckets: Float64Array;
}

/** One merged metric family, ready to render. */
export interface MergedFamily {
  /** Metric name. */
  readonly name: string;
  /** Its descriptor. */
  readonly descriptor: MetricDescriptor;
  /** Counters and gauges: labels part (`{a="b"}` or empty) to value. */
  readonly values: Map<string, number>;
  /** Histograms and summaries: labels part to summed distribution. */
  readonly distributions: Map<string, Distribution>;
}

/** Options of {@link mergeState}. */
export interface MergeOptions {
  /** Processes to leave out entirely (retired during this scrape; already in `retired`). */
  readonly exclude?: ReadonlySet<string>;
  /** Whether a process counts as live for gauges in a live mode. */
  readonly isLive: (process: ProcessRecord) => boolean;
  /** The label that tells processes apart in `all`/`liveall` mode. */
  readonly processLabel: string;
}

/** What the merge produced, and how many stored values it had to skip as corrupt. */
export interface MergeResult {
  /** Families by name. */
  readonly families: Map<string, MergedFamily>;
  /** Series skipped: corrupt value, or no descriptor for their metric. */
  readonly corrupt: number;
}

interface GaugeSlot {
  value: number;
  setAt: number;
}

/** Merges every process (and the retired total) of `state`. */
export function mergeState(state: StoredState, options: MergeOptions): MergeResult {
  const merger = new Merger(state.descriptors);
  merger.addSumming(state.retired);
  for (const process of state.processes) {
    if (options.exclude?.has(process.id)) continue;
    merger.addProcess(process, options.isLive(process), options.processLabel);
  }
  return { families: merger.finish(), corrupt: merger.corrupt };
}

class Merger {
  corrupt = 0;
  readonly #families = new Map<string, MergedFamily>();
  readonly #gauges = new Map<string, Map<string, GaugeSlot>>();
  readonly #keyCache = new Map<string, [MergedFamily, string] | null>();

  constructor(readonly descriptors: ReadonlyMap<string, MetricDescriptor>) {}

  /** Adds the summing types of a series map (the retired total). */
  addSumming(series: SeriesMap): void {
    for (const [key, encoded] of series) {
      const hit = this.#resolve(key);
      if (hit === null) continue;
      if (hit[0].descriptor.type === "gauge") continue;
      this.#addSumming(hit[0], hit[1], encoded);
    }
  }

  addProcess(process: ProcessRecord, live: boolean, processLabel: string): void {
    for (const [key, encoded] of process.series) {
      const hit = this.#resolve(key);
      if (hit === null) continue;
      const [family, labels] = hit;
      if (family.descriptor.type !== "gauge") {
        this.#addSumming(family, labels, encoded);
        continue;
      }
      const rule = modeRule(family.descriptor.mode ?? "all");
      if (rule.liveOnly && !live) continue;
      const gauge = decodeGauge(encoded);
      if (gauge === undefined) {
        this.corrupt++;
        continue;
      }
      if (rule.reduce === "each") {
        family.values.set(appendLabel(labels, processLabel, process.id), gauge.value);
        continue;
      }
      let slots = this.#gauges.get(family.name);
      if (slots === undefined) this.#gauges.set(family.name, slots = new Map());
      const slot = slots.get(labels);
      if (slot === undefined) {
        slots.set(labels, { value: gauge.value, setAt: gauge.setAt });
      } else if (rule.reduce === "sum") {
        slot.value += gauge.value;
      } else if (rule.reduce === "max") {
        if (gauge.value > slot.value) slot.value = gauge.value;
      } else if (rule.reduce === "min") {
        if (gauge.value < slot.value) slot.value = gauge.value;
      } else if (gauge.setAt > slot.setAt) {
        slot.value = gauge.value;
        slot.setAt = gauge.setAt;
      }
    }
  }

  finish(): Map<string, MergedFamily> {
    for (const [name, slots] of this.#gauges) {
      const values = this.#families.get(name)!.values;
      for (const [labels, slot] of slots) values.set(labels, slot.value);
    }
    return this.#families;
  }

  #resolve(key: string): [MergedFamily, string] | null {
    let hit = this.#keyCache.get(key);
    if (hit !== undefined) return hit;
    const [name, labels] = splitSeriesKey(key);
    let family = this.#families.get(name);
    if (family === undefined) {
      const descriptor = this.descriptors.get(name);
      if (descriptor !== undefined) {
        family = { name, descriptor, values: new Map(), distributions: new Map() };
        this.#families.set(name, family);
      }
    }
    hit = family === undefined ? null : [family, labels];
    if (hit === null) this.corrupt++;
    else this.#keyCache.set(key, hit);
    return hit;
  }

  #addSumming(family: MergedFamily, labels: string, encoded: string): void {
    const type = family.descriptor.type;
    if (type === "counter") {
      const value = decodeCounter(encoded);
      if (value === undefined) this.corrupt++;
      else family.values.set(labels, (family.values.get(labels) ?? 0) + value);
      return;
    }
    const bucketCount = family.descriptor.buckets?.length ?? 0;
    const decoded = type === "histogram" ? decodeHistogram(encoded, bucketCount) : decodeSummary(encoded);
    if (decoded === undefined) {
      this.corrupt++;
      return;
    }
    let into = family.distributions.get(labels);
    if (into === undefined) {
      into = { sum: 0, count: 0, buckets: new Float64Array(bucketCount) };
      family.distributions.set(labels, into);
    }
    into.sum += decoded.sum;
    into.count += decoded.count;
    if (type === "histogram") {
      const buckets = (decoded as HistogramValue).buckets;
      for (let i = 0; i < bucketCount; i++) into.buckets[i] += buckets[i];
    }
  }
}
