/**
 * A reference decoder for the protobuf exposition: protobufjs with the messages of Prometheus'
 * `io.prometheus.client` metrics.proto (the fields this package may write), so tests read what
 * the package encodes by hand through an independent implementation of the wire format.
 */
import protobuf from "protobufjs";

const PROTO = `
syntax = "proto2";
package io.prometheus.client;
message LabelPair { optional string name = 1; optional string value = 2; }
enum MetricType { COUNTER = 0; GAUGE = 1; SUMMARY = 2; UNTYPED = 3; HISTOGRAM = 4; GAUGE_HISTOGRAM = 5; }
message Gauge { optional double value = 1; }
message Timestamp { optional int64 seconds = 1; optional int32 nanos = 2; }
message Exemplar { repeated LabelPair label = 1; optional double value = 2; optional Timestamp timestamp = 3; }
message Counter { optional double value = 1; optional Exemplar exemplar = 2; }
message Quantile { optional double quantile = 1; optional double value = 2; }
message Summary { optional uint64 sample_count = 1; optional double sample_sum = 2; repeated Quantile quantile = 3; }
message Untyped { optional double value = 1; }
message Bucket { optional uint64 cumulative_count = 1; optional double cumulative_count_float = 4; optional double upper_bound = 2; optional Exemplar exemplar = 3; }
message BucketSpan { optional sint32 offset = 1; optional uint32 length = 2; }
message Histogram {
  optional uint64 sample_count = 1; optional double sample_count_float = 4; optional double sample_sum = 2;
  repeated Bucket bucket = 3;
  optional sint32 schema = 5; optional double zero_threshold = 6; optional uint64 zero_count = 7; optional double zero_count_float = 8;
  repeated BucketSpan negative_span = 9; repeated sint64 negative_delta = 10 [packed = true]; repeated double negative_count = 11;
  repeated BucketSpan positive_span = 12; repeated sint64 positive_delta = 13 [packed = true]; repeated double positive_count = 14;
  repeated Exemplar exemplars = 16;
}
message Metric {
  repeated LabelPair label = 1; optional Gauge gauge = 2; optional Counter counter = 3; optional Summary summary = 4;
  optional Untyped untyped = 5; optional Histogram histogram = 7; optional int64 timestamp_ms = 6;
}
message MetricFamily { optional string name = 1; optional string help = 2; optional MetricType type = 3; repeated Metric metric = 4; }
`;

const MetricFamily = protobuf.parse(PROTO).root.lookupType("io.prometheus.client.MetricFamily");

/** A decoded MetricFamily, as plain objects (longs as numbers, enums as names). */
// deno-lint-ignore no-explicit-any
export type DecodedFamily = any;

/** Decodes a length-delimited stream of MetricFamily messages. */
export function decodeFamilies(bytes: Uint8Array): DecodedFamily[] {
  const reader = protobuf.Reader.create(bytes);
  const out: DecodedFamily[] = [];
  while (reader.pos < reader.len) {
    const message = MetricFamily.decodeDelimited(reader);
    out.push(MetricFamily.toObject(message, { longs: Number, enums: String, defaults: false }));
  }
  return out;
}

/** The native buckets of a decoded histogram, by index, from its spans and deltas. */
export function nativeBucketsOf(
  histogram: DecodedFamily,
  side: "positive" | "negative",
): Map<number, number> {
  const out = new Map<number, number>();
  const spans: Array<{ offset?: number; length?: number }> = histogram[`${side}Span`] ?? [];
  const deltas: number[] = histogram[`${side}Delta`] ?? [];
  let index = 0;
  let count = 0;
  let d = 0;
  for (const span of spans) {
    index += span.offset ?? 0;
    for (let k = 0; k < (span.length ?? 0); k++) {
      count += deltas[d++];
      out.set(index, count);
      index++;
    }
  }
  return out;
}
