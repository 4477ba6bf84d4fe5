/**
 * The stored text of native buckets, the fourth part of a histogram's value (see `values.ts`):
 * `schema/zero count/index:count,…/index:count,…`, positive buckets then negative, each side's
 * indices ascending. The merge reads one per stored value of every process, through a reader
 * that keeps its buckets in arrays of its own, reused from value to value.
 * @module
 */
import { emptyNative, isCount, lowerTo, MAX_NATIVE_SCHEMA, MIN_NATIVE_SCHEMA, type NativeBuckets } from "./native.ts";
import { readNumber } from "./numbers.ts";

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

/** Reads stored native buckets, one text at a time, into arrays it reuses; then adds them where they go. */
export class NativeReader {
  /** The schema of the text read last. */
  schema = 0;
  /** Its zero bucket's count. */
  zeroCount = 0;
  /** How many buckets it has (zero counts left out). */
  length = 0;
  /** Every observation it holds, the zero bucket's included. */
  total = 0;
  /** Per bucket: 1 for a positive observation's, -1 for a negative one's. */
  #side = new Int8Array(256);
  /** Per bucket: its index. */
  #index = new Float64Array(256);
  /** Per bucket: its count. */
  #count = new Float64Array(256);

  /**
   * Reads the native part that starts at `start` of `text` and runs to its end; false when it is
   * corrupt (a schema out of range, a count that is not one, indices not ascending on a side),
   * and then nothing read is to be used.
   */
  read(text: string, start = 0): boolean {
    this.length = 0;
    const slash1 = text.indexOf("/", start);
    const slash2 = slash1 === -1 ? -1 : text.indexOf("/", slash1 + 1);
    const slash3 = slash2 === -1 ? -1 : text.indexOf("/", slash2 + 1);
    if (slash3 === -1 || text.indexOf("/", slash3 + 1) !== -1) return false;
    this.schema = readNumber(text, start, slash1);
    this.zeroCount = readNumber(text, slash1 + 1, slash2);
    const { schema } = this;
    if (!Number.isInteger(schema) || schema < MIN_NATIVE_SCHEMA || schema > MAX_NATIVE_SCHEMA) return false;
    if (!isCount(this.zeroCount)) return false;
    this.total = this.zeroCount;
    return this.#readSide(text, slash2 + 1, slash3, 1) && this.#readSide(text, slash3 + 1, text.length, -1);
  }

  /** Adds what was read last into `into`, at the coarser of the two schemas. */
  addTo(into: NativeBuckets): void {
    if (this.schema < into.schema) lowerTo(into, this.schema);
    const factor = 2 ** (this.schema - into.schema);
    into.zeroCount += this.zeroCount;
    for (let k = 0; k < this.length; k++) {
      const buckets = this.#side[k] === 1 ? into.positive : into.negative;
      const index = factor === 1 ? this.#index[k] : Math.ceil(this.#index[k] / factor);
      buckets.set(index, (buckets.get(index) ?? 0) + this.#count[k]);
    }
  }

  /** Reads one side's `index:count,…` between `from` and `to`; false when corrupt. */
  #readSide(text: string, from: number, to: number, side: 1 | -1): boolean {
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
      if (count > 0) this.#push(side, index, count);
      i = comma + 1;
      if (comma === to) return true;
    }
    return i === from; // an empty side (one that ends on a comma is corrupt)
  }

  #push(side: 1 | -1, index: number, count: number): void {
    if (this.length === this.#side.length) {
      const n = this.length * 2;
      const [sides, indices, counts] = [new Int8Array(n), new Float64Array(n), new Float64Array(n)];
      sides.set(this.#side);
      indices.set(this.#index);
      counts.set(this.#count);
      [this.#side, this.#index, this.#count] = [sides, indices, counts];
    }
    this.#side[this.length] = side;
    this.#index[this.length] = index;
    this.#count[this.length] = count;
    this.length++;
    this.total += count;
  }
}

/** Reads what {@link encodeNative} wrote; undefined when it is corrupt. */
export function decodeNative(text: string): NativeBuckets | undefined {
  const reader = new NativeReader();
  if (!reader.read(text)) return undefined;
  const native = emptyNative(reader.schema);
  reader.addTo(native);
  return native;
}
