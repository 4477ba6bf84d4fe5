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
 *   repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13; repeated Exemplar exemplars = 16; }
 * message Bucket { uint64 cumulative_count = 1; double upper_bound = 2; Exemplar exemplar = 3; }
 * message BucketSpan { sint32 offset = 1; uint32 length = 2; }
 * message Exemplar { repeated LabelPair label = 1; double value = 2; Timestamp timestamp = 3; }
 * ```
 * @module
 */
import { labelPair, varintSize, Writer, zigzag } from "../codec/protobuf.ts";
import { labelsOf } from "../codec/series_key.ts";
import { type NativeBuckets, ZERO_THRESHOLD } from "../codec/native.ts";
import type { Distribution, Exemplar, MergedFamily } from "./family.ts";

/** Content type of the protobuf exposition. */
export const PROTOBUF_CONTENT_TYPE =
  "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited";

const TYPES = { counter: 0, gauge: 1, summary: 2, histogram: 4 } as const;

/** The most labels parts an encoder keeps encoded; past it they are forgotten (series come and go). */
const LABEL_CACHE_LIMIT = 200_000;

/**
 * Encodes merged families as length-delimited MetricFamily messages. Kept between scrapes: the
 * same series come back at every scrape, and their labels are then neither parsed nor encoded
 * again; its writers (one per nesting level) and arrays are reused from message to message.
 */
export class ProtobufEncoder {
  readonly #labels = new Map<string, Uint8Array>();
  readonly #family = new Writer(4096);
  readonly #value = new Writer(1024);
  readonly #inner = new Writer(256);
  /** One side's bucket indices and counts, ascending. */
  #indices = new Float64Array(256);
  #counts = new Float64Array(256);

  /** `families` (in name order), each family's message after its length. */
  encode(families: Iterable<MergedFamily>): Uint8Array {
    const sorted = [...families].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const out = new Writer(65536);
    for (const family of sorted) {
      if (family.values.size === 0 && family.distributions.size === 0) continue;
      this.#encodeFamily(family);
      out.varint(this.#family.length);
      out.append(this.#family);
    }
    return out.done();
  }

  #encodeFamily(family: MergedFamily): void {
    const { type, help } = family.descriptor;
    const w = this.#family;
    const value = this.#value;
    w.reset();
    w.string(1, family.name);
    w.string(2, help);
    w.varintField(3, TYPES[type]);
    const exemplars = family.exemplars;
    if (type === "counter" || type === "gauge") {
      for (const [labels, v] of family.values) {
        value.reset();
        value.doubleField(1, v);
        const exemplar = type === "counter" ? exemplars?.get(labels) : undefined;
        if (exemplar !== undefined) value.field(2, encodeExemplar(exemplar));
        this.#metric(labels, type === "counter" ? 3 : 2);
      }
      return;
    }
    const bounds = family.descriptor.buckets ?? [];
    for (const [labels, d] of family.distributions) {
      value.reset();
      if (type === "histogram") this.#encodeHistogram(labels, bounds, d, exemplars);
      else {
        value.varintField(1, Math.round(d.count)); // a summary's count has no float field
        value.doubleField(2, d.sum);
      }
      this.#metric(labels, type === "histogram" ? 7 : 4);
    }
  }

  /** A Metric (field 4 of its family): its label pairs, then the value message as field `field`. */
  #metric(labels: string, field: number): void {
    const w = this.#family;
    const value = this.#value;
    const pairs = this.#labelPairs(labels);
    w.varint((4 << 3) | 2);
    w.varint(pairs.length + 1 + varintSize(value.length) + value.length);
    w.bytes(pairs);
    w.message(field, value);
  }

  #labelPairs(labels: string): Uint8Array {
    let bytes = this.#labels.get(labels);
    if (bytes !== undefined) return bytes;
    bytes = labelPairs(labelsOf(labels));
    if (this.#labels.size >= LABEL_CACHE_LIMIT) this.#labels.clear();
    this.#labels.set(labels, bytes);
    return bytes;
  }

  #encodeHistogram(
    labels: string,
    bounds: readonly number[],
    d: Distribution,
    exemplars: ReadonlyMap<string, Exemplar> | undefined,
  ): void {
    const w = this.#value;
    const inner = this.#inner;
    count(w, 1, 4, d.count);
    w.doubleField(2, d.sum);
    // A native histogram's exemplars go in its own field too, where Prometheus 3 reads them (2.x
    // reads the buckets'): each is encoded once, for both.
    const encoded: Uint8Array[] = [];
    const bucket = (cumulative: number, upper: number, exemplar: Exemplar | undefined) => {
      if (exemplar === undefined && Number.isSafeInteger(cumulative)) {
        // The common bucket, written in place: its count, then its bound.
        w.varint((3 << 3) | 2);
        w.varint(1 + varintSize(cumulative) + 9);
        w.varintField(1, cumulative);
        w.doubleField(2, upper);
        return;
      }
      inner.reset();
      count(inner, 1, 4, cumulative);
      inner.doubleField(2, upper);
      if (exemplar !== undefined) {
        const bytes = encodeExemplar(exemplar);
        encoded.push(bytes);
        inner.field(3, bytes);
      }
      w.message(3, inner);
    };
    for (let i = 0; i < bounds.length; i++) {
      bucket(d.buckets[i], bounds[i], exemplars === undefined ? undefined : exemplars.get(`${labels}|${i}`));
    }
    // The +Inf bucket is implied by the count; written only to carry its exemplar.
    const last = exemplars?.get(`${labels}|${bounds.length}`);
    if (last !== undefined) bucket(d.count, Infinity, last);
    if (d.native === undefined) return;
    this.#encodeNative(d.native);
    for (const bytes of encoded) w.field(16, bytes);
  }

  #encodeNative(native: NativeBuckets): void {
    const w = this.#value;
    w.sintField(5, native.schema);
    w.doubleField(6, ZERO_THRESHOLD);
    if (native.zeroCount > 0) count(w, 7, 8, native.zeroCount);
    this.#encodeSide(9, 10, native.negative);
    if (native.positive.size === 0 && native.negative.size === 0) {
      // No bucket yet: an empty span still marks the histogram as native.
      w.varint((12 << 3) | 2);
      w.varint(0);
    }
    this.#encodeSide(12, 13, native.positive);
  }

  /** One side's buckets as spans of consecutive indices and the deltas between their counts. */
  #encodeSide(spanField: number, deltaField: number, buckets: ReadonlyMap<number, number>): void {
    if (buckets.size === 0) return;
    const w = this.#value;
    const n = this.#ascending(buckets);
    const indices = this.#indices;
    const counts = this.#counts;
    // A span per run of consecutive indices: the first's offset is its index, a later one's the gap before it.
    let spanStart = 0;
    for (let i = 1; i <= n; i++) {
      if (i < n && indices[i] === indices[i - 1] + 1) continue;
      const offset = zigzag(spanStart === 0 ? indices[0] : indices[spanStart] - indices[spanStart - 1] - 1);
      const length = i - spanStart;
      w.varint((spanField << 3) | 2);
      w.varint(2 + varintSize(offset) + varintSize(length));
      w.varintField(1, offset);
      w.varintField(2, length);
      spanStart = i;
    }
    // Each count as the difference from the one before, packed.
    let size = 0;
    for (let i = 0; i < n; i++) size += varintSize(zigzag(counts[i] - (i === 0 ? 0 : counts[i - 1])));
    w.varint((deltaField << 3) | 2);
    w.varint(size);
    for (let i = 0; i < n; i++) w.varint(zigzag(counts[i] - (i === 0 ? 0 : counts[i - 1])));
  }

  /** Fills the index and count arrays from `buckets`, ascending by index; returns how many. */
  #ascending(buckets: ReadonlyMap<number, number>): number {
    if (buckets.size > this.#indices.length) {
      this.#indices = new Float64Array(buckets.size * 2);
      this.#counts = new Float64Array(buckets.size * 2);
    }
    const indices = this.#indices;
    const counts = this.#counts;
    let n = 0;
    let sorted = true;
    buckets.forEach((c, index) => {
      if (n > 0 && index < indices[n - 1]) sorted = false;
      indices[n] = index;
      counts[n++] = c;
    });
    if (!sorted) {
      indices.subarray(0, n).sort();
      for (let i = 0; i < n; i++) counts[i] = buckets.get(indices[i])!;
    }
    return n;
  }
}

/** LabelPair fields (field 1 of Metric and of Exemplar). */
function labelPairs(pairs: ReadonlyArray<readonly [string, string]>): Uint8Array {
  const w = new Writer();
  for (const [name, value] of pairs) labelPair(w, 1, name, value);
  return w.done();
}

/** A count: a varint where it is whole (always, for counts summed from processes). */
function count(w: Writer, field: number, floatField: number, value: number): void {
  if (Number.isSafeInteger(value)) w.varintField(field, value);
  else w.doubleField(floatField, value);
}

function encodeExemplar(e: Exemplar): Uint8Array {
  const w = new Writer();
  w.bytes(labelPairs(labelsOf(`{${e.labels}}`)));
  w.doubleField(2, e.value);
  const ts = new Writer();
  const seconds = Math.floor(e.at / 1000);
  ts.varintField(1, seconds);
  const nanos = Math.round((e.at - seconds * 1000) * 1e6);
  if (nanos > 0) ts.varintField(2, nanos);
  w.message(3, ts);
  return w.done();
}
