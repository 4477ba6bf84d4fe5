/**
 * Native histograms: sparse exponential buckets, as Prometheus defines them. At schema `s` the
 * bucket of index `i` holds the observations in `(2^((i-1)·2^-s), 2^(i·2^-s)]` (negative ones
 * mirrored), and those within {@link ZERO_THRESHOLD} of zero are counted apart. A process keeps at
 * most {@link MAX_NATIVE_BUCKETS} buckets per series, halving the resolution (one schema lower)
 * when an observation would exceed them; the merge of processes lowers the finer of two schemas,
 * so every sum is exact. Stored as the fourth part of a histogram's value (see `values.ts`):
 * `schema/zero count/index:count,…/index:count,…` (positive buckets, then negative).
 * @module
 */

/** The schema a series starts at: 8 buckets per power of two, about 9% apart. */
export const NATIVE_SCHEMA = 3;
/** The most buckets a series keeps before its resolution is lowered. */
export const MAX_NATIVE_BUCKETS = 160;
/** The coarsest schema: 16 powers of two per bucket. */
export const MIN_NATIVE_SCHEMA = -4;
/** The finest schema Prometheus reads. */
export const MAX_NATIVE_SCHEMA = 8;
/** Observations within this of zero go to the zero bucket (Prometheus' clients' default, 2^-128). */
export const ZERO_THRESHOLD = 2 ** -128;

/** A native histogram's buckets (its count and sum are the classic histogram's). */
export interface NativeBuckets {
  /** The resolution: 2^schema buckets per power of two. */
  schema: number;
  /** Observations within {@link ZERO_THRESHOLD} of zero (and NaN, as Prometheus' clients count it). */
  zeroCount: number;
  /** Counts of positive observations, by bucket index (not cumulative). */
  positive: Map<number, number>;
  /** Counts of negative observations, by the index of their absolute value. */
  negative: Map<number, number>;
}

/** An empty native histogram at `schema`. */
export function emptyNative(schema = NATIVE_SCHEMA): NativeBuckets {
  return { schema, zeroCount: 0, positive: new Map(), negative: new Map() };
}

/** `2^(k/2^s - 1)` for k below 2^s: where each bucket of one power of two ends, as a fraction of it. */
const BOUNDS: number[][] = [];
for (let s = 1; s <= MAX_NATIVE_SCHEMA; s++) {
  const n = 2 ** s;
  BOUNDS[s] = Array.from({ length: n }, (_, k) => 2 ** (k / n - 1));
}

/** The bucket index of `value` (positive, finite, above the zero threshold) at `schema`. */
export function bucketIndex(value: number, schema: number): number {
  // value = frac * 2^exp with frac in [0.5, 1): exact, since scaling by a power of two is.
  let exp = Math.floor(Math.log2(value)) + 1;
  let frac = value * 2 ** -exp;
  if (frac >= 1) {
    frac /= 2;
    exp++;
  } else if (frac < 0.5) {
    frac *= 2;
    exp--;
  }
  if (schema > 0) {
    const bounds = BOUNDS[schema];
    let k = 0;
    while (k < bounds.length && frac > bounds[k]) k++;
    return k + (exp - 1) * bounds.length;
  }
  const index = frac === 0.5 ? exp - 1 : exp; // at schema 0, (2^(i-1), 2^i]
  return schema === 0 ? index : Math.ceil(index / 2 ** -schema);
}

/** Adds one observation, lowering the resolution when the bucket budget would be exceeded. */
export function observeNative(native: NativeBuckets, value: number): void {
  const abs = Math.abs(value);
  if (!(abs > ZERO_THRESHOLD)) {
    native.zeroCount++;
    return;
  }
  const buckets = value > 0 ? native.positive : native.negative;
  const index = bucketIndex(abs === Infinity ? Number.MAX_VALUE : abs, native.schema);
  buckets.set(index, (buckets.get(index) ?? 0) + 1);
  fitBudget(native);
}

/** Lowers `native`'s resolution until its buckets are within the budget. */
export function fitBudget(native: NativeBuckets): void {
  while (native.positive.size + native.negative.size > MAX_NATIVE_BUCKETS && native.schema > MIN_NATIVE_SCHEMA) {
    lowerTo(native, native.schema - 1);
  }
}

/** Lowers `native` to the coarser `schema` in place: bucket `i` goes to `ceil(i / 2^(schema change))`. */
export function lowerTo(native: NativeBuckets, schema: number): void {
  if (schema >= native.schema) return;
  const factor = 2 ** (native.schema - schema);
  native.positive = lowered(native.positive, factor);
  native.negative = lowered(native.negative, factor);
  native.schema = schema;
}

function lowered(buckets: ReadonlyMap<number, number>, factor: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const [index, count] of buckets) {
    const to = Math.ceil(index / factor);
    out.set(to, (out.get(to) ?? 0) + count);
  }
  return out;
}

/**
 * Adds `sign` times `from` into `into` (changed in place), both at the coarser of their schemas;
 * `from` is left untouched. False when a count would fall below zero (the two do not belong together).
 */
export function addNative(into: NativeBuckets, from: NativeBuckets, sign: 1 | -1 = 1): boolean {
  let source = from;
  if (from.schema > into.schema) {
    source = { ...from };
    lowerTo(source, into.schema);
  } else if (from.schema < into.schema) {
    lowerTo(into, from.schema);
  }
  into.zeroCount += sign * source.zeroCount;
  const ok = addBuckets(into.positive, source.positive, sign) && addBuckets(into.negative, source.negative, sign);
  return ok && into.zeroCount >= 0;
}

function addBuckets(into: Map<number, number>, from: ReadonlyMap<number, number>, sign: 1 | -1): boolean {
  for (const [index, count] of from) {
    const total = (into.get(index) ?? 0) + sign * count;
    if (total < 0) return false;
    if (total === 0) into.delete(index);
    else into.set(index, total);
  }
  return true;
}

/** A copy of `native`, to merge into without changing it. */
export function copyNative(native: NativeBuckets): NativeBuckets {
  return { ...native, positive: new Map(native.positive), negative: new Map(native.negative) };
}

/** Every observation in the buckets, the zero bucket's included. */
export function nativeTotal(native: NativeBuckets): number {
  let total = native.zeroCount;
  for (const c of native.positive.values()) total += c;
  for (const c of native.negative.values()) total += c;
  return total;
}

/** The stored text of `native`. */
export function encodeNative(native: NativeBuckets): string {
  return `${native.schema}/${native.zeroCount}/${encodeBuckets(native.positive)}/${encodeBuckets(native.negative)}`;
}

function encodeBuckets(buckets: ReadonlyMap<number, number>): string {
  let out = "";
  for (const index of [...buckets.keys()].sort((a, b) => a - b)) {
    out += `${out === "" ? "" : ","}${index}:${buckets.get(index)}`;
  }
  return out;
}

/**
 * A native part as read from its text, before it is added anywhere: its buckets in a scratch that
 * the next read reuses (the merge reads one per stored value, so it allocates nothing per value).
 */
export interface ParsedNative {
  schema: number;
  zeroCount: number;
  /** Buckets read. */
  length: number;
  /** Per bucket: 1 for a positive observation's, -1 for a negative one's. */
  side: Int8Array;
  index: Float64Array;
  count: Float64Array;
}

let scratch: ParsedNative = {
  schema: 0,
  zeroCount: 0,
  length: 0,
  side: new Int8Array(256),
  index: new Float64Array(256),
  count: new Float64Array(256),
};

/**
 * Reads the native part that starts at `start` of `text` and runs to its end (what
 * {@link encodeNative} wrote) into a shared scratch, valid until the next call; undefined when it
 * is corrupt: a schema out of range, a count that is not one, indices not ascending on a side.
 */
export function parseNative(text: string, start = 0): ParsedNative | undefined {
  const p = scratch;
  p.length = 0;
  const slash1 = text.indexOf("/", start);
  const slash2 = slash1 === -1 ? -1 : text.indexOf("/", slash1 + 1);
  const slash3 = slash2 === -1 ? -1 : text.indexOf("/", slash2 + 1);
  if (slash3 === -1 || text.indexOf("/", slash3 + 1) !== -1) return undefined;
  p.schema = readNumber(text, start, slash1);
  p.zeroCount = readNumber(text, slash1 + 1, slash2);
  if (!Number.isInteger(p.schema) || p.schema < MIN_NATIVE_SCHEMA || p.schema > MAX_NATIVE_SCHEMA) return undefined;
  if (!isCount(p.zeroCount)) return undefined;
  return readSide(text, slash2 + 1, slash3, 1) && readSide(text, slash3 + 1, text.length, -1) ? p : undefined;
}

/** Reads one side's `index:count,…` between `from` and `to` into the scratch; false when corrupt. */
function readSide(text: string, from: number, to: number, side: 1 | -1): boolean {
  let previous = -Infinity;
  let i = from;
  while (i < to) {
    const colon = text.indexOf(":", i);
    let comma = text.indexOf(",", i);
    if (comma === -1 || comma > to) comma = to;
    if (colon === -1 || colon >= comma) return false;
    const index = readNumber(text, i, colon);
    const count = readNumber(text, colon + 1, comma);
    if (!Number.isSafeInteger(index) || index <= previous || !isCount(count)) return false;
    previous = index;
    if (count > 0) push(side, index, count);
    i = comma + 1;
    if (comma === to) return true;
  }
  return i === from; // an empty side (one that ends on a comma is corrupt)
}

/** `Number(text.slice(start, end))`, without the slice for whole numbers (what is stored); NaN for nothing. */
function readNumber(text: string, start: number, end: number): number {
  let i = start;
  const negative = text.charCodeAt(i) === 45; // "-"
  if (negative) i++;
  if (i === end || end - i > 15) return end > start ? Number(text.slice(start, end)) : NaN;
  let value = 0;
  for (; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number(text.slice(start, end));
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

function push(side: 1 | -1, index: number, count: number): void {
  let p = scratch;
  if (p.length === p.side.length) {
    const n = p.side.length * 2;
    const grown = { ...p, side: new Int8Array(n), index: new Float64Array(n), count: new Float64Array(n) };
    grown.side.set(p.side);
    grown.index.set(p.index);
    grown.count.set(p.count);
    scratch = p = grown;
  }
  p.side[p.length] = side;
  p.index[p.length] = index;
  p.count[p.length] = count;
  p.length++;
}

/** Adds what {@link parseNative} read into `into`, at the coarser of the two schemas. */
export function addParsed(into: NativeBuckets, parsed: ParsedNative): void {
  if (parsed.schema < into.schema) lowerTo(into, parsed.schema);
  const factor = 2 ** (parsed.schema - into.schema);
  into.zeroCount += parsed.zeroCount;
  for (let k = 0; k < parsed.length; k++) {
    const buckets = parsed.side[k] === 1 ? into.positive : into.negative;
    const index = factor === 1 ? parsed.index[k] : Math.ceil(parsed.index[k] / factor);
    buckets.set(index, (buckets.get(index) ?? 0) + parsed.count[k]);
  }
}

/** Reads what {@link encodeNative} wrote; undefined when it is corrupt. */
export function decodeNative(text: string): NativeBuckets | undefined {
  const parsed = parseNative(text);
  if (parsed === undefined) return undefined;
  const native = emptyNative(parsed.schema);
  addParsed(native, parsed);
  return native;
}

function isCount(n: number): boolean {
  return n >= 0 && n !== Infinity;
}
