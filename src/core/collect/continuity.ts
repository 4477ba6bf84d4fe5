/**
 * Continuity, the last check before a collection is served: counters, histogram and summary
 * counts never go down in what one process serves. A collection with a series lower than this
 * process served it before means storage lost data that its processes have not published again
 * yet (each does within one publish interval): the scrape fails with the reason (503) rather than
 * show Prometheus a counter reset. After a grace period what storage holds is served, and each
 * series that went down is counted and said once: a reset nobody could prevent is then honest.
 * @module
 */
import { StorageError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { MergedFamily } from "./merge.ts";

/** A counter this much lower, relatively, is the same value summed in another order. */
const ROUNDING = 1e-9;

/** What {@link Continuity.check} found. */
export type ContinuityVerdict =
  | { readonly status: "continuous" }
  | {
    /** `hold`: within the grace period, do not serve; `accept`: serve, the decrease is final. */
    readonly status: "hold" | "accept";
    /** How many series went down. */
    readonly decreased: number;
    /** One of them, as `name{labels} from -> to`. */
    readonly example: string;
    /** How long the decrease has been seen, in ms. */
    readonly sinceMs: number;
  };

/** What {@link Continuity.keep} says and counts when a decrease is final. */
export interface ContinuityReport {
  /** The storage kind, for messages. */
  readonly kind: string;
  /** Where the line about a final decrease goes. */
  readonly logger: Logger;
  /** Counts the series that went down for good. */
  readonly reset: (series: number) => void;
}

/** Remembers what this process served, and tells a collection that went down. */
export class Continuity {
  readonly #graceMs: number;
  readonly #clock: () => number;
  readonly #report: ContinuityReport | undefined;
  #served = new Map<string, number>();
  /** When each series served before went missing (a process not yet republished, or removed). */
  readonly #absentSince = new Map<string, number>();
  #since: number | undefined;

  /**
   * @param graceMs How long a decrease is held back for the processes to publish again, in ms.
   * @param clock Current time in ms.
   * @param report Where {@link keep} says and counts a final decrease.
   */
  constructor(graceMs: number, clock: () => number, report?: ContinuityReport) {
    this.#graceMs = graceMs;
    this.#clock = clock;
    this.#report = report;
  }

  /**
   * Checks `families` before they are served: throws a StorageError that says why while a
   * decrease is held back; says and counts one that stayed past the grace period.
   */
  keep(families: ReadonlyMap<string, MergedFamily>): void {
    const verdict = this.check(families);
    if (verdict.status === "continuous") return;
    const kind = this.#report?.kind ?? "the";
    const what = `${verdict.decreased} series went down since the last scrape (${verdict.example})`;
    if (verdict.status === "hold") {
      throw new StorageError(
        kind,
        `${what}: storage lost data that the processes have not published again yet; the scrape is held ` +
          `back for up to ${Math.ceil(this.#graceMs / 1000)} s so that Prometheus sees no counter reset`,
        { transient: true },
      );
    }
    this.#report?.reset(verdict.decreased);
    this.#report?.logger.error(
      `${what}, and stayed down for ${Math.round(verdict.sinceMs / 1000)} s: storage lost data that no process ` +
        `could put back (or the app reset them); serving what storage holds, Prometheus sees a counter reset`,
    );
  }

  /**
   * Compares `families` with what was served last; remembers them unless the verdict is `hold`. A
   * counter lower only by rounding is served as it was before (set in `families`).
   */
  check(families: ReadonlyMap<string, MergedFamily>): ContinuityVerdict {
    const previous = this.#served;
    const served = new Map<string, number>();
    let decreased = 0;
    let example = "";
    for (const family of families.values()) {
      const type = family.descriptor.type;
      if (type === "gauge") continue;
      const entries: Iterable<[string, number]> = type === "counter" ? family.values : mapCounts(family.distributions);
      for (const [labels, value] of entries) {
        const key = family.name + labels;
        const before = previous.get(key);
        if (before !== undefined && value < before) {
          // Summed in another order (a process retired, the read listed them otherwise), a
          // fractional counter can come out lower in its last bits: that is no decrease.
          if (type === "counter" && before - value <= ROUNDING * before) {
            family.values.set(labels, before);
            served.set(key, before);
            continue;
          }
          if (decreased++ === 0) example = `${key}${type === "counter" ? "" : " (count)"} from ${before} to ${value}`;
        }
        served.set(key, value);
      }
    }
    const now = this.#clock();
    this.#carryAbsent(previous, served, now);
    if (decreased === 0) {
      this.#served = served;
      this.#since = undefined;
      return { status: "continuous" };
    }
    this.#since ??= now;
    const sinceMs = now - this.#since;
    if (sinceMs < this.#graceMs) return { status: "hold", decreased, example, sinceMs };
    this.#served = served;
    this.#since = undefined;
    return { status: "accept", decreased, example, sinceMs };
  }

  /**
   * A series served before and missing now is remembered for the grace period, so that one that
   * comes back lower (part of its processes republished) is held as any decrease; a series
   * missing for longer was removed, and is forgotten.
   */
  #carryAbsent(previous: ReadonlyMap<string, number>, served: Map<string, number>, now: number): void {
    for (const key of this.#absentSince.keys()) if (served.has(key)) this.#absentSince.delete(key);
    for (const [key, value] of previous) {
      if (served.has(key)) continue;
      const since = this.#absentSince.get(key) ?? now;
      if (now - since >= this.#graceMs) {
        this.#absentSince.delete(key);
        continue;
      }
      this.#absentSince.set(key, since);
      served.set(key, value);
    }
  }
}

function* mapCounts(distributions: ReadonlyMap<string, { count: number }>): Iterable<[string, number]> {
  for (const [labels, d] of distributions) yield [labels, d.count];
}
