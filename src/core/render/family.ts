/**
 * What the renderer renders: one metric family with its value per exposed series, as the merge
 * of every process makes it.
 * @module
 */
import type { MetricDescriptor } from "../storage.ts";
import type { HistogramTotals } from "../codec/values.ts";

/** A histogram or summary being summed (a summary's has no buckets, classic or native). */
export type Distribution = HistogramTotals;

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
  /**
   * The latest exemplar of a counter series (by its labels part) or of a histogram bucket (by
   * `<labels part>|<bucket index>`, +Inf last).
   */
  exemplars?: Map<string, Exemplar>;
}

/** An observation linked to its trace. */
export interface Exemplar {
  /** Its labels part without braces, escaped: `trace_id="…",span_id="…"`. */
  readonly labels: string;
  /** The observed value (1 for a counter's). */
  readonly value: number;
  /** When it was observed, in milliseconds since the epoch. */
  readonly at: number;
}
