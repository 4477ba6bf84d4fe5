/**
 * Native histograms: the bucket of an observation at every schema, the budget that lowers the
 * resolution, the stored encoding, the merge across processes at different schemas, values
 * without native buckets placed from their classic ones, the retirement fold, and the protobuf
 * exposition read back by an independent decoder (protobufjs with Prometheus' metrics.proto).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeNative, encodeNative, NativeReader } from "../../src/core/codec/native_text.ts";
import {
  bucketIndex,
  emptyNative,
  lowerTo,
  MAX_NATIVE_BUCKETS,
  type NativeBuckets,
  nativeOfClassic,
  nativeTotal,
  observeNative,
  ZERO_THRESHOLD,
} from "../../src/core/codec/native.ts";
import {
  addHistogram,
  combine,
  decodeHistogram,
  encodeHistogram,
  type HistogramTotals,
} from "../../src/core/codec/values.ts";
import { mergeState } from "../../src/core/collect/merge.ts";
import type { MetricDescriptor, ProcessRecord } from "../../src/core/storage.ts";
import { contentTypeOf, negotiateFormat } from "../../src/core/render/render.ts";
import { ProtobufEncoder } from "../../src/core/render/protobuf.ts";
import { decodeFamilies, nativeBucketsOf } from "../support/metrics_proto.ts";

/** A seeded generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Values over many powers of two, both signs, a few zeros. */
function values(n: number, seed: number): number[] {
  const next = random(seed);
  return Array.from({ length: n }, () => {
    const r = next();
    if (r < 0.02) return 0;
    const magnitude = 2 ** (next() * 40 - 20);
    return r < 0.2 ? -magnitude : magnitude;
  });
}

function observed(all: readonly number[], schema: number): NativeBuckets {
  const n = emptyNative(schema);
  for (const v of all) observeNative(n, v);
  return n;
}

const sortedEntries = (m: ReadonlyMap<number, number>) => [...m].sort((a, b) => a[0] - b[0]);

describe("native histograms: buckets", () => {
  test("each value lands in the bucket whose bounds hold it, at every schema", () => {
    const next = random(7);
    for (let schema = -4; schema <= 8; schema++) {
      const base = 2 ** (2 ** -schema);
      for (let k = 0; k < 500; k++) {
        const v = 2 ** (next() * 60 - 30);
        const i = bucketIndex(v, schema);
        // Bounds computed independently, in log space, with a margin for rounding.
        const lower = Math.log2(v) - (i - 1) * Math.log2(base);
        const upper = i * Math.log2(base) - Math.log2(v);
        assert.ok(lower > -1e-9 && upper >= -1e-9, `schema ${schema}: ${v} is not in bucket ${i}`);
      }
    }
    // Powers of two are upper bounds: 1 closes bucket 0, 2 closes bucket 2^schema.
    assert.equal(bucketIndex(1, 3), 0);
    assert.equal(bucketIndex(2, 3), 8);
    assert.equal(bucketIndex(0.5, 3), -8);
    assert.equal(bucketIndex(1, 0), 0);
    assert.equal(bucketIndex(4, -1), 1);
    assert.equal(bucketIndex(4.5, -1), 2);
  });

  test("lowering the schema is the same as observing at the lower one", () => {
    const all = values(2000, 11);
    for (let schema = 8; schema > -4; schema--) {
      const lowered = observed(all, 8);
      lowerTo(lowered, schema);
      const direct = observed(all, schema);
      // The budget may lower the direct one further: compare at the coarser of the two.
      lowerTo(lowered, direct.schema);
      assert.deepEqual(sortedEntries(lowered.positive), sortedEntries(direct.positive), `schema ${schema}`);
      assert.deepEqual(sortedEntries(lowered.negative), sortedEntries(direct.negative), `schema ${schema}`);
    }
  });

  test("the bucket budget lowers the resolution and keeps every observation", () => {
    const all = values(5000, 3);
    const n = observed(all, 3);
    assert.ok(n.positive.size + n.negative.size <= MAX_NATIVE_BUCKETS);
    assert.ok(n.schema < 3, `40 powers of two at schema 3 need more than ${MAX_NATIVE_BUCKETS} buckets`);
    assert.equal(nativeTotal(n), all.length);
    assert.equal(n.zeroCount, all.filter((v) => Math.abs(v) <= ZERO_THRESHOLD).length);
    // A narrow range stays at schema 3.
    const narrow = observed([0.1, 0.2, 0.3, 0.25, 1.5], 3);
    assert.equal(narrow.schema, 3);
  });

  test("stored and read back; corrupt text is refused", () => {
    const n = observed(values(300, 5), 3);
    assert.deepEqual(decodeNative(encodeNative(n)), n);
    for (const bad of ["", "3/0//", "3/x//", "9/0//", "3/0/1:1,1:2/", "3/0/1:/", "3/0/a:1/", "3/-1//", "3/0//x"]) {
      if (bad === "3/0//") continue;
      assert.equal(decodeNative(bad), undefined, bad);
    }
    assert.ok(decodeNative("3/0//"));
    const text = encodeHistogram(1.5, 3, [1, 2], n);
    assert.deepEqual(decodeHistogram(text, 2)?.native, n);
    assert.equal(decodeHistogram(`${text}x`, 2), undefined);
    const totals: HistogramTotals = { sum: 0, count: 0, buckets: new Float64Array(2) };
    const reader = new NativeReader();
    assert.equal(addHistogram(`1|3|1,2|3/0/1:x/`, totals, reader), false, "a corrupt native part: the whole value");
    assert.equal(totals.count, 0);
    const counted = encodeHistogram(1.5, nativeTotal(n), [1, 2], n);
    assert.equal(addHistogram(counted, totals, reader), true);
    assert.equal(totals.count, nativeTotal(n));
    assert.deepEqual(totals.native, n);
    // Native buckets that do not hold the value's count are read as none.
    assert.equal(addHistogram(text, totals, reader), true);
    assert.equal(totals.nativeClassic!.count, nativeTotal(n));
  });

  test("one reader reads values of any size, one after the other", () => {
    // Over the reader's first arrays: 400 buckets, as a retired total of many processes may hold.
    const big = emptyNative(3);
    for (let i = 0; i < 400; i++) big.positive.set(i * 3, i + 1);
    const small = observed([0.5, 2], 3);
    const reader = new NativeReader();
    for (const native of [small, big, small, big]) {
      assert.equal(reader.read(encodeNative(native)), true);
      const into = emptyNative(3);
      reader.addTo(into);
      assert.deepEqual(sortedEntries(into.positive), sortedEntries(native.positive));
      assert.equal(reader.total, nativeTotal(native));
    }
  });

  test("observations known only by classic buckets: at their bucket's upper bound, the overflow past the last", () => {
    const bounds = [0.1, 1, 10];
    const native = nativeOfClassic(bounds, [2, 2, 5], 8, 3); // 2 up to 0.1, 0 in (0.1, 1], 3 in (1, 10], 3 above
    assert.equal(nativeTotal(native), 8);
    assert.deepEqual(sortedEntries(native.positive), [
      [bucketIndex(0.1, 3), 2],
      [bucketIndex(10, 3), 3],
      [bucketIndex(10, 3) + 1, 3],
    ]);
    assert.equal(nativeTotal(nativeOfClassic([], [], 4, 3)), 4, "no bound: all in the zero bucket");
  });
});

const DESCRIPTORS = new Map<string, MetricDescriptor>([["d", { type: "histogram", help: "D.", buckets: [1] }]]);

function histogramValue(all: readonly number[], schema = 3): string {
  const native = observed(all, schema);
  const sum = all.reduce((a, b) => a + b, 0);
  return encodeHistogram(sum, all.length, [all.filter((v) => v <= 1).length], native);
}

function processOf(id: string, series: Map<string, string>): ProcessRecord {
  return { id, heartbeat: Date.now(), exited: false, series } as unknown as ProcessRecord;
}

describe("native histograms: across processes", () => {
  test("processes at different schemas merge at the coarser one, exactly", () => {
    const a = values(1000, 21);
    const b = values(20, 22).map((v) => Math.abs(v) / 1e3); // narrow: stays at schema 3
    const wide = observed(a, 3);
    assert.ok(wide.schema < 3);
    const state = {
      descriptors: DESCRIPTORS,
      retired: new Map<string, string>(),
      processes: [
        processOf("a", new Map([["d", histogramValue(a)]])),
        processOf("b", new Map([["d", histogramValue(b)]])),
      ],
    };
    const merged = mergeState(state as never, { isLive: () => true, processLabel: "process_id" });
    const d = merged.families.get("d")!.distributions.get("")!;
    assert.equal(d.count, a.length + b.length);
    const expected = observed([...a, ...b], 3);
    lowerTo(expected, wide.schema);
    assert.equal(d.native!.schema, wide.schema);
    assert.deepEqual(sortedEntries(d.native!.positive), sortedEntries(expected.positive));
    assert.deepEqual(sortedEntries(d.native!.negative), sortedEntries(expected.negative));
    assert.equal(d.native!.zeroCount, expected.zeroCount);
  });

  test("a value without native buckets joins them from its classic buckets; the count stays exact", () => {
    const classic = encodeHistogram(0.5, 1, [1]);
    const state = {
      descriptors: DESCRIPTORS,
      retired: new Map<string, string>(),
      processes: [
        processOf("a", new Map([["d", histogramValue([0.1, 2])]])),
        processOf("b", new Map([["d", classic]])),
      ],
    };
    const d = mergeState(state as never, { isLive: () => true, processLabel: "process_id" }).families.get("d")!
      .distributions.get("")!;
    assert.equal(d.count, 3);
    assert.equal(nativeTotal(d.native!), 3);
    const expected = observed([0.1, 2, 1], 3); // b's observation at its bucket's bound, 1
    assert.deepEqual(sortedEntries(d.native!.positive), sortedEntries(expected.positive));
    // A family no value of which has native buckets stays classic.
    const only = mergeState(
      { descriptors: DESCRIPTORS, retired: new Map(), processes: [processOf("b", new Map([["d", classic]]))] } as never,
      { isLive: () => true, processLabel: "process_id" },
    );
    assert.equal(only.families.get("d")!.distributions.get("")!.native, undefined);
  });

  test("retirement folds native buckets; a baseline is taken off them", () => {
    const x = histogramValue([0.1, 0.2, 5]);
    const y = histogramValue([0.3, 7, -2]);
    const total = decodeHistogram(combine("histogram", x, y, 1, [1])!, 1)!;
    assert.equal(total.count, 6);
    assert.equal(nativeTotal(total.native!), 6);
    const back = decodeHistogram(combine("histogram", combine("histogram", x, y, 1, [1])!, y, -1, [1])!, 1)!;
    assert.deepEqual(sortedEntries(back.native!.positive), sortedEntries(decodeHistogram(x, 1)!.native!.positive));
    // A retired total stored before native histograms were on: the fold places it from its classic buckets.
    const legacy = encodeHistogram(9, 4, [3]); // 3 up to 1, 1 above
    const folded = decodeHistogram(combine("histogram", legacy, x, 1, [1])!, 1)!;
    assert.deepEqual([folded.count, nativeTotal(folded.native!)], [7, 7]);
    // The budget holds for a fold too.
    const wide = histogramValue(values(3000, 9));
    const many = decodeHistogram(combine("histogram", wide, histogramValue(values(3000, 10)), 1, [1])!, 1)!;
    assert.ok(many.native!.positive.size + many.native!.negative.size <= MAX_NATIVE_BUCKETS);
    assert.equal(nativeTotal(many.native!), 6000);
  });
});

describe("native histograms: the protobuf exposition", () => {
  test("Prometheus' Accept header gets protobuf; others keep text", () => {
    const prometheus242 =
      "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7," +
      "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4," +
      "text/plain;version=0.0.4;q=0.3,*/*;q=0.2";
    assert.equal(negotiateFormat(prometheus242), "protobuf");
    assert.equal(contentTypeOf("protobuf").startsWith("application/vnd.google.protobuf"), true);
    assert.equal(
      negotiateFormat("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily"),
      "prometheus",
    );
    assert.equal(negotiateFormat("application/vnd.google.protobuf;proto=other;encoding=delimited"), "prometheus");
    assert.equal(negotiateFormat("text/plain"), "prometheus");
  });

  test("counters, gauges, summaries and histograms read back through protobufjs", () => {
    const all = [0.001, 0.02, 0.5, 0.5, 3, -1, 0];
    const native = observed(all, 3);
    const buckets = new Float64Array([5, 6]); // cumulative, bounds 0.1 and 1
    const families = [
      {
        name: "c_total",
        descriptor: { type: "counter" as const, help: "C." },
        values: new Map([['{route="/a",q="x\\"y"}', 3]]),
        distributions: new Map(),
        exemplars: new Map([['{route="/a",q="x\\"y"}', { labels: 'trace_id="abc"', value: 1, at: 1_700_000_000_123 }]]),
      },
      {
        name: "g",
        descriptor: { type: "gauge" as const, help: "G." },
        values: new Map([["", 2.5]]),
        distributions: new Map(),
      },
      {
        name: "s",
        descriptor: { type: "summary" as const, help: "S." },
        values: new Map(),
        distributions: new Map([["", { sum: 4, count: 2, buckets: new Float64Array(0) }]]),
      },
      {
        name: "h",
        descriptor: { type: "histogram" as const, help: "H.", buckets: [0.1, 1] },
        values: new Map(),
        distributions: new Map([['{m="GET"}', { sum: 3.021, count: all.length, buckets, native }]]),
        exemplars: new Map([['{m="GET"}|2', { labels: 'trace_id="t"', value: 3, at: 1000 }]]),
      },
    ];
    const decoded = decodeFamilies(new ProtobufEncoder().encode(families));
    assert.deepEqual(decoded.map((f) => [f.name, f.type]), [
      ["c_total", "COUNTER"],
      ["g", "GAUGE"],
      ["h", "HISTOGRAM"],
      ["s", "SUMMARY"],
    ]);
    const [c, g, h, s] = decoded;
    assert.deepEqual(c.metric[0].label, [{ name: "route", value: "/a" }, { name: "q", value: 'x"y' }]);
    assert.equal(c.metric[0].counter.value, 3);
    assert.deepEqual(c.metric[0].counter.exemplar.label, [{ name: "trace_id", value: "abc" }]);
    assert.deepEqual(c.metric[0].counter.exemplar.timestamp, { seconds: 1_700_000_000, nanos: 123_000_000 });
    assert.equal(g.metric[0].gauge.value, 2.5);
    assert.deepEqual([s.metric[0].summary.sampleCount, s.metric[0].summary.sampleSum], [2, 4]);
    const hist = h.metric[0].histogram;
    assert.equal(hist.sampleCount, all.length);
    assert.equal(hist.sampleSum, 3.021);
    assert.deepEqual(
      hist.bucket.map((b: { cumulativeCount: number; upperBound: number }) => [b.cumulativeCount, b.upperBound]),
      [
        [5, 0.1],
        [6, 1],
        [all.length, Infinity],
      ],
    );
    assert.deepEqual(hist.bucket[2].exemplar.label, [{ name: "trace_id", value: "t" }]);
    assert.deepEqual(hist.exemplars.map((e: { value: number }) => e.value), [3], "and where Prometheus 3 reads them");
    assert.equal(hist.schema, native.schema);
    assert.equal(hist.zeroThreshold, ZERO_THRESHOLD);
    assert.equal(hist.zeroCount, 1);
    assert.deepEqual(sortedEntries(nativeBucketsOf(hist, "positive")), sortedEntries(native.positive));
    assert.deepEqual(sortedEntries(nativeBucketsOf(hist, "negative")), sortedEntries(native.negative));
  });

  test("an empty native histogram is still marked native", () => {
    const decoded = decodeFamilies(new ProtobufEncoder().encode([{
      name: "h",
      descriptor: { type: "histogram", help: "H.", buckets: [] },
      values: new Map(),
      distributions: new Map([["", { sum: 0, count: 0, buckets: new Float64Array(0), native: emptyNative() }]]),
    }]));
    const hist = decoded[0].metric[0].histogram;
    assert.equal(hist.schema, 3);
    assert.equal(hist.positiveSpan.length, 1);
  });
});
