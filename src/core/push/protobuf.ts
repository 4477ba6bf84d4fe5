/**
 * The remote write 1.0 request (`prometheus.WriteRequest`) in protobuf, encoded by hand: four small
 * messages, so no protobuf library is loaded for them.
 *
 * ```proto
 * message WriteRequest { repeated TimeSeries timeseries = 1; }
 * message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
 * message Label { string name = 1; string value = 2; }
 * message Sample { double value = 1; int64 timestamp = 2; }
 * ```
 * @module
 */
import { labelPair, Writer } from "../codec/protobuf.ts";

/** One series to write: its labels (`__name__` among them) and one sample. */
export interface WrittenSeries {
  readonly labels: ReadonlyArray<readonly [string, string]>;
  readonly value: number;
  /** Milliseconds since the epoch. */
  readonly timestamp: number;
  /** The series has ended: its sample is Prometheus' stale marker, whatever `value` says. */
  readonly stale?: boolean;
}

/** Prometheus' stale marker: the NaN 0x7ff0000000000002, little-endian, written byte by byte (a NaN's bits may not survive a Float64). */
const STALE_NAN = new Uint8Array([0x02, 0, 0, 0, 0, 0, 0xf0, 0x7f]);

function sample(value: number, timestamp: number, stale: boolean): Uint8Array {
  const w = new Writer();
  w.varint((1 << 3) | 1); // field 1, 64-bit
  if (stale) w.bytes(STALE_NAN);
  else w.double(value);
  w.varint(2 << 3); // field 2, varint
  w.varint(timestamp);
  return w.done();
}

/** The WriteRequest of `series`, its labels sorted by name as the protocol asks. */
export function encodeWriteRequest(series: readonly WrittenSeries[]): Uint8Array {
  const request = new Writer();
  for (const s of series) {
    const ts = new Writer();
    const sorted = [...s.labels].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // A label with an empty value is no label (the protocol says so).
    for (const [name, value] of sorted) if (value !== "") labelPair(ts, 1, name, value);
    ts.field(2, sample(s.value, s.timestamp, s.stale === true));
    request.field(1, ts.done());
  }
  return request.done();
}
