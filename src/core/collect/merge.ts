/**
 * The merge: turns the stored state of every process into one value per exposed series.
 * Counters, histograms and summaries sum over live, dead-not-yet-retired and retired processes;
 * gauges follow their multiprocess mode. Pure and synchronous, so it is easy to test.
 * @module
 */
import { type ModeRule, modeRule } from "../values/modes.ts";
import { appendLabel, splitSeriesKey } from "../codec/series_key.ts";
import type { MetricDescriptor, ProcessRecord, StoredState } from "../storage.ts";
import { NativeReader } from "../codec/native_text.ts";
import {
  addHistogram,
  completeNative,
  decodeCounter,
  decodeExemplar,
  decodeGauge,
  decodeSummary,
  EXEMPLARS,
} from "../codec/values.ts";

/** The bucket label of an exemplar's key, at the end of its labels part. */
const BUCKET = /([{,])__bucket="(\d+)"\}$/;

import type { Distribution, Exemplar, MergedFamily } from "../render/family.ts";

export type { Distribution, MergedFamily };

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
  /** The first few of them, each with why (for the log). */
  readonly corruptExamples: readonly string[];
}

/** Merges every process (and the retired total) of `state`. */
export function mergeState(state: StoredState, options: MergeOptions): MergeResult {
  const merger = new Merger(state.descriptors);
  merger.add(state.retired, undefined, false, options.processLabel);
  for (const process of state.processes) {
    if (options.exclude?.has(process.id)) continue;
    merger.add(process.series, process.id, options.isLive(process), options.processLabel);
  }
  return { families: merger.finish(), corrupt: merger.corrupt, corruptExamples: merger.examples };
}

/**
 * The running total of one series key. Every process's copy of a key lands in the same slot, so
 * merging a stored value is one map lookup and some arithmetic.
 */
interface Slot {
  readonly family: MergedFamily;
  readonly labels: string;
  readonly kind: "counter" | "distribution" | "gauge" | "each";
  /** A gauge's merge rule. */
  readonly rule: ModeRule | undefined;
  /** counter and gauge: the running value; `seen` tells whether a gauge has one yet. */
  value: number;
  setAt: number;
  seen: boolean;
  readonly distribution: Distribution | undefined;
}

class Merger {
  corrupt = 0;
  readonly examples: string[] = [];
  readonly #families = new Map<string, MergedFamily>();
  readonly #slots = new Map<string, Slot | null>();
  readonly #reader = new NativeReader();

  constructor(readonly descriptors: ReadonlyMap<string, MetricDescriptor>) {}

  /** Adds one series map: a process's (with its id) or the retired total's (id undefined). */
  add(series: ReadonlyMap<string, string>, processId: string | undefined, live: boolean, processLabel: string): void {
    for (const [key, encoded] of series) {
      if (key.startsWith(EXEMPLARS)) {
        this.#addExemplar(key, encoded);
        continue;
      }
      let slot = this.#slots.get(key);
      if (slot === undefined) slot = this.#slot(key);
      if (slot === null) {
        this.#skip(key, this.descriptors.has(splitSeriesKey(key)[0]) ? "an unknown gauge mode" : "no descriptor");
        continue;
      }
      switch (slot.kind) {
        case "counter": {
          const value = decodeCounter(encoded);
          if (value === undefined) this.#skip(key, "a value that does not decode");
          else slot.value += value;
          break;
        }
        case "distribution":
          if (!this.#addDistribution(slot, encoded)) this.#skip(key, "a value that does not decode");
          break;
        default:
          // The retired total holds no gauges: a dead process's gauges are dropped, not folded.
          if (processId !== undefined) this.#addGauge(slot, encoded, processId, live, processLabel);
      }
    }
  }

  #skip(key: string, why: string): void {
    this.corrupt++;
    if (this.examples.length < 3) this.examples.push(`${key.length > 120 ? `${key.slice(0, 120)}...` : key} (${why})`);
  }

  finish(): Map<string, MergedFamily> {
    for (const slot of this.#slots.values()) {
      if (slot === null || !slot.seen) continue;
      const d = slot.distribution;
      if (d !== undefined) {
        // Observations stored without native buckets join them; the budget holds for the sum too.
        if (d.native !== undefined) completeNative(d, slot.family.descriptor.buckets ?? []);
        slot.family.distributions.set(slot.labels, d);
      } else if (slot.kind !== "each") slot.family.values.set(slot.labels, slot.value);
    }
    for (const [name, kept] of this.#exemplars) {
      const family = this.#families.get(name);
      if (family === undefined) continue; // an exemplar of a series no process has: not shown
      family.exemplars = kept;
    }
    return this.#families;
  }

  /** The exemplars of each family: the most recent of every process for each series or bucket. */
  readonly #exemplars = new Map<string, Map<string, Exemplar>>();

  #addExemplar(key: string, encoded: string): void {
    const exemplar = decodeExemplar(encoded);
    if (exemplar === undefined) return this.#skip(key, "an exemplar that does not decode");
    const [name, labels] = splitSeriesKey(key.slice(EXEMPLARS.length));
    const bucket = BUCKET.exec(labels);
    const where = bucket === null
      ? labels
      : `${labels.slice(0, bucket.index)}${bucket[1] === "{" ? "" : "}"}|${bucket[2]}`;
    let kept = this.#exemplars.get(name);
    if (kept === undefined) this.#exemplars.set(name, kept = new Map());
    const before = kept.get(where);
    if (before !== undefined && before.at >= exemplar.at) return;
    kept.set(where, exemplar);
  }

  #slot(key: string): Slot | null {
    const [name, labels] = splitSeriesKey(key);
    let family = this.#families.get(name);
    if (family === undefined) {
      const descriptor = this.descriptors.get(name);
      if (descriptor === undefined) return null; // not cached: each occurrence is counted
      family = { name, descriptor, values: new Map(), distributions: new Map() };
      this.#families.set(name, family);
    }
    const { type, mode, buckets } = family.descriptor;
    const rule = type === "gauge" ? modeRule(mode ?? "all") : undefined;
    if (type === "gauge" && rule === undefined) return null; // an unknown mode: skipped and counted
    const kind = type === "counter"
      ? "counter"
      : rule !== undefined
      ? (rule.reduce === "each" ? "each" : "gauge")
      : "distribution";
    const slot: Slot = {
      family,
      labels,
      kind,
      rule,
      value: 0,
      setAt: 0,
      seen: kind === "counter",
      distribution: kind === "distribution"
        ? { sum: 0, count: 0, buckets: new Float64Array(type === "histogram" ? buckets?.length ?? 0 : 0) }
        : undefined,
    };
    this.#slots.set(key, slot);
    return slot;
  }

  #addDistribution(slot: Slot, encoded: string): boolean {
    const into = slot.distribution!;
    if (slot.family.descriptor.type === "histogram") {
      if (!addHistogram(encoded, into, this.#reader)) return false;
    } else {
      const summary = decodeSummary(encoded);
      if (summary === undefined) return false;
      into.sum += summary.sum;
      into.count += summary.count;
    }
    slot.seen = true;
    return true;
  }

  #addGauge(slot: Slot, encoded: string, processId: string, live: boolean, processLabel: string): void {
    const rule = slot.rule!;
    if (rule.liveOnly && !live) return;
    const gauge = decodeGauge(encoded);
    if (gauge === undefined) {
      this.#skip(`${slot.family.name}${slot.labels}`, "a value that does not decode");
      return;
    }
    if (slot.kind === "each") {
      slot.family.values.set(appendLabel(slot.labels, processLabel, processId), gauge.value);
      return;
    }
    if (!slot.seen) {
      slot.seen = true;
      slot.value = gauge.value;
      slot.setAt = gauge.setAt;
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
