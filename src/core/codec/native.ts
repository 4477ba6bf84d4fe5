/**
 * Native histograms: sparse exponential buckets, as Prometheus defines them. At schema `s` the
 * bucket of index `i` holds the observations in `(2^((i-1)·2^-s), 2^(i·2^-s)]` (negative ones
 * mirrored), and those within {@link ZERO_THRESHOLD} of zero are counted apart. A process keeps at
 * most {@link MAX_NATIVE_BUCKETS} buckets per series, halving the resolution (one schema lower)
 * when an observation would exceed them; the merge of processes lowers the finer of two schemas,
 * so every sum is exact. Stored as the fourth part of a histogram's value (`native_text.ts`).
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

/**
 * `2^(k/2^s - 1)` for k below 2^s: where each bucket of one power of two ends, as a fraction of it.
 * Computed, so a bound may differ from the table of Prometheus' Go code in its last bit: only an
 * observation exactly on such a bound could land in the bucket next to Go's.
 */
const BOUNDS: number[][] = [];
for (let s = 1; s <= MAX_NATIVE_SCHEMA; s++) {
  const n = 2 ** s;
  BOUNDS[s] = Array.from({ length: n }, (_, k) => 2 ** (k / n - 1));
}

/**
 * A double's bits, to split a value into its fraction and exponent without `Math.log2` and
 * `Math.pow` (the request path observes through here): the high word holds the exponent. Read
 * and written within one call, never kept.
 */
const DOUBLE = new Float64Array(1);
const WORDS = new Uint32Array(DOUBLE.buffer);
/** Which word of a double is the high one here (1 where the machine is little-endian). */
const HIGH = (() => {
  DOUBLE[0] = 1;
  return WORDS[1] === 0x3ff00000 ? 1 : 0;
})();

/** The bucket index of `value` (positive, finite, above the zero threshold) at `schema`. */
export function bucketIndex(value: number, schema: number): number {
  // value = frac * 2^exp with frac in [0.5, 1), read off the bits of a normal double (anything
  // above the zero threshold is one): the exponent field, and the fraction with its exponent set
  // to that of 0.5.
  DOUBLE[0] = value;
  const high = WORDS[HIGH];
  const exp = ((high >>> 20) & 0x7ff) - 1022;
  WORDS[HIGH] = (high & 0x800fffff) | 0x3fe00000;
  const frac = DOUBLE[0];
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
  place(native, value, 1);
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

/** Every observation in the buckets, the zero bucket's included. */
export function nativeTotal(native: NativeBuckets): number {
  let total = native.zeroCount;
  for (const c of native.positive.values()) total += c;
  for (const c of native.negative.values()) total += c;
  return total;
}

/**
 * The native buckets of observations known only by their classic buckets (`cumulative` counts at
 * the ascending `bounds`, `count` in all): each is placed at its bucket's upper bound, those above
 * the last bound in the native bucket after it. Counts and the sum stay exact; where in its
 * classic bucket an observation fell is not known, so quantiles over these are as coarse as the
 * classic buckets. How observations stored before native histograms were on join native ones.
 */
export function nativeOfClassic(
  bounds: readonly number[],
  cumulative: ArrayLike<number>,
  count: number,
  schema: number,
): NativeBuckets {
  const native = emptyNative(schema);
  let below = 0;
  for (let i = 0; i < bounds.length; i++) {
    const c = cumulative[i] - below;
    below = cumulative[i];
    if (c > 0) place(native, bounds[i], c);
  }
  const above = count - below;
  const last = bounds[bounds.length - 1];
  if (above > 0 && last !== undefined && last > ZERO_THRESHOLD) {
    const index = bucketIndex(Math.min(last, Number.MAX_VALUE), schema) + 1;
    native.positive.set(index, (native.positive.get(index) ?? 0) + above);
  } else if (above > 0) native.zeroCount += above; // no positive bound: nothing better is known
  fitBudget(native);
  return native;
}

/** Adds `count` observations at `value`'s native bucket. */
function place(native: NativeBuckets, value: number, count: number): void {
  const abs = Math.abs(value);
  if (!(abs > ZERO_THRESHOLD)) {
    native.zeroCount += count;
    return;
  }
  const buckets = value > 0 ? native.positive : native.negative;
  const index = bucketIndex(abs === Infinity ? Number.MAX_VALUE : abs, native.schema);
  buckets.set(index, (buckets.get(index) ?? 0) + count);
}

/** Whether `n` can be a count: not negative, finite. */
export function isCount(n: number): boolean {
  return n >= 0 && n !== Infinity;
}
