/**
 * The protobuf exposition: length-delimited `io.prometheus.client.MetricFamily` messages, the
 * format Prometheus scrapes native histograms in. Classic buckets and native buckets side by side,
 * exemplars on counters and buckets. The messages written, from Prometheus' `metrics.proto`:
 *
 * ```proto
 * message MetricFamily { string name = 1; string help = 2; MetricType type = 3; repeated Metric metric = 4; }
 * message Metric { repeated LabelPair label = 1; Gauge gauge = 2; Counter counter = 3; Summary summary = 4;
 *                  Histogram histogram = 7; }
 * message Counter { double value = 1; Exemplar exemplar = 2; }
 * message Histogram { uint64 sample_count = 1; double sample_sum = 2; repeated Bucket bucket = 3;
 *   sint32 schema = 5; double zero_threshold = 6; uint64 zero_count = 7;
 *   repeated BucketSpan negative_span = 9; repeated sint64 negative_delta = 10;
 *   repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13; }
 * message Bucket { uint64 cumulative_count = 1; double upper_bound = 2; Exemplar exemplar = 3; }
 * message BucketSpan { sint32 offset = 1; uint32 length = 2; }
 * message Exemplar { repeated LabelPair label = 1; double value = 2; Timestamp timestamp = 3; }
 * ```
 * @module
 */
import { Writer } from "../codec/protobuf.ts";
import { labelsOf } from "../codec/series_key.ts";
import { type NativeBuckets, ZERO_THRESHOLD } from "../codec/native.ts";
import type { Distribution, Exemplar, MergedFamily } from "./family.ts";

/** Content type of the protobuf exposition. */
export const PROTOBUF_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const TYPES = { counter: 0, gauge: 1, summary: 2, histogram: 4 } as const;

/** Encodes `families` (in name order) as length-delimited MetricFamily messages. */
export function encodeProtobuf(families: Iterable<MergedFamily>): Uint8Array {
  const sorted = [...families].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out = new Writer();
  for (const family of sorted) {
    if (family.values.size === 0 && family.distributions.size === 0) continue;
    const message = encodeFamily(family);
    out.varint(message.length);
    out.bytes(message);
  }
  return out.done();
}

function encodeFamily(family: MergedFamily): Uint8Array {
  const { type, help } = family.descriptor;
  const w = new Writer();
  w.string(1, family.name);
  w.string(2, help);
  w.varintField(3, TYPES[type]);
  const exemplars = family.exemplars;
  if (type === "counter" || type === "gauge") {
    for (const [labels, value] of family.values) {
      const inner = new Writer();
      inner.doubleField(1, value);
      const exemplar = type === "counter" ? exemplars?.get(labels) : undefined;
      if (exemplar !== undefined) inner.field(2, encodeExemplar(exemplar));
      w.field(4, metric(labels, type === "counter" ? 3 : 2, inner.done()));
    }
    return w.done();
  }
  const bounds = family.descriptor.buckets ?? [];
  for (const [labels, d] of family.distributions) {
    const body = type === "histogram" ? encodeHistogram(labels, bounds, d, exemplars) : encodeSummary(d);
    w.field(4, metric(labels, type === "histogram" ? 7 : 4, body));
  }
  return w.done();
}

/** A Metric: its label pairs, then its value message as field `field`. */
function metric(labels: string, field: number, value: Uint8Array): Uint8Array {
  const w = new Writer();
  for (const [name, v] of labelsOf(labels)) w.field(1, labelPair(name, v));
  w.field(field, value);
  return w.done();
}

function labelPair(name: string, value: string): Uint8Array {
  const w = new Writer();
  w.string(1, name);
  w.string(2, value);
  return w.done();
}

/** A count: a varint where it is whole (always, for counts summed from processes). */
function count(w: Writer, field: number, floatField: number, value: number): void {
  if (Number.isSafeInteger(value)) w.varintField(field, value);
  else w.doubleField(floatField, value);
}

function encodeSummary(d: Distribution): Uint8Array {
  const w = new Writer();
  w.varintField(1, Math.round(d.count)); // a summary's count has no float field
  w.doubleField(2, d.sum);
  return w.done();
}

function encodeHistogram(
  labels: string,
  bounds: readonly number[],
  d: Distribution,
  exemplars: ReadonlyMap<string, Exemplar> | undefined,
): Uint8Array {
  const w = new Writer();
  count(w, 1, 4, d.count);
  w.doubleField(2, d.sum);
  const bucket = (cumulative: number, upper: number, exemplar: Exemplar | undefined) => {
    const b = new Writer();
    count(b, 1, 4, cumulative);
    b.doubleField(2, upper);
    if (exemplar !== undefined) b.field(3, encodeExemplar(exemplar));
    w.field(3, b.done());
  };
  for (let i = 0; i < bounds.length; i++) bucket(d.buckets[i], bounds[i], exemplars?.get(`${labels}|${i}`));
  // The +Inf bucket is implied by the count; written only to carry its exemplar.
  const last = exemplars?.get(`${labels}|${bounds.length}`);
  if (last !== undefined) bucket(d.count, Infinity, last);
  if (d.native) encodeNative(w, d.native);
  return w.done();
}

function encodeNative(w: Writer, native: NativeBuckets): void {
  w.sintField(5, native.schema);
  w.doubleField(6, ZERO_THRESHOLD);
  if (native.zeroCount > 0) count(w, 7, 8, native.zeroCount);
  encodeSide(w, 9, 10, native.negative);
  if (native.positive.size === 0 && native.negative.size === 0) {
    // No bucket yet: an empty span still marks the histogram as native.
    const span = new Writer();
    w.field(12, span.done());
  }
  encodeSide(w, 12, 13, native.positive);
}

/** One side's buckets as spans of consecutive indices and the deltas between their counts. */
function encodeSide(w: Writer, spanField: number, deltaField: number, buckets: ReadonlyMap<number, number>): void {
  if (buckets.size === 0) return;
  const indices = [...buckets.keys()].sort((a, b) => a - b);
  const deltas: number[] = [];
  let previousCount = 0;
  let spanStart = 0;
  let previousIndex = 0;
  const flush = (offset: number, length: number) => {
    const span = new Writer();
    span.sintField(1, offset);
    span.varintField(2, length);
    w.field(spanField, span.done());
  };
  let offset = indices[0];
  for (let i = 0; i < indices.length; i++) {
    const index = indices[i];
    if (i > 0 && index !== previousIndex + 1) {
      flush(offset, i - spanStart);
      offset = index - previousIndex - 1;
      spanStart = i;
    }
    const c = buckets.get(index)!;
    deltas.push(c - previousCount);
    previousCount = c;
    previousIndex = index;
  }
  flush(offset, indices.length - spanStart);
  w.packedSints(deltaField, deltas);
}

function encodeExemplar(e: Exemplar): Uint8Array {
  const w = new Writer();
  for (const [name, value] of labelsOf(`{${e.labels}}`)) w.field(1, labelPair(name, value));
  w.doubleField(2, e.value);
  const ts = new Writer();
  const seconds = Math.floor(e.at / 1000);
  ts.varintField(1, seconds);
  const nanos = Math.round((e.at - seconds * 1000) * 1e6);
  if (nanos > 0) ts.varintField(2, nanos);
  w.field(3, ts.done());
  return w.done();
}
