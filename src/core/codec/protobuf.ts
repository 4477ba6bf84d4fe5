/**
 * The protobuf wire format, as far as the exposition and remote write need it: a growable buffer
 * with varints, zigzag varints, doubles and length-delimited fields. Small enough that no
 * protobuf library is loaded for the handful of messages this package writes. A writer is
 * reused (`reset`) for each nested message, so that a large exposition allocates little.
 * @module
 */

const utf8 = new TextEncoder();

/** A growable byte buffer with the protobuf primitives. */
export class Writer {
  #bytes: Uint8Array;
  #view: DataView;
  /** Bytes written so far. */
  length = 0;

  /** @param size The bytes to start with (it grows as needed). */
  constructor(size = 64) {
    this.#bytes = new Uint8Array(size);
    this.#view = new DataView(this.#bytes.buffer);
  }

  #room(n: number): void {
    if (this.length + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.length + n));
    grown.set(this.#bytes.subarray(0, this.length));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
  }

  /** Empties the writer, keeping its buffer. */
  reset(): void {
    this.length = 0;
  }

  /** A varint of a non-negative whole number up to 2^53. */
  varint(value: number): void {
    this.#room(10);
    let v = value;
    while (v >= 0x80) {
      this.#bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.#bytes[this.length++] = v;
  }

  /** Raw bytes. */
  bytes(data: Uint8Array): void {
    this.#room(data.length);
    this.#bytes.set(data, this.length);
    this.length += data.length;
  }

  /** A little-endian double, without its tag. */
  double(value: number): void {
    this.#room(8);
    this.#view.setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** A length-delimited field: its tag, its length, its bytes. */
  field(number: number, data: Uint8Array): void {
    this.varint((number << 3) | 2);
    this.varint(data.length);
    this.bytes(data);
  }

  /** What `inner` wrote, as it is. */
  append(inner: Writer): void {
    this.#room(inner.length);
    this.#bytes.set(inner.#bytes.subarray(0, inner.length), this.length);
    this.length += inner.length;
  }

  /** A length-delimited field holding what `inner` wrote. */
  message(number: number, inner: Writer): void {
    this.varint((number << 3) | 2);
    this.varint(inner.length);
    this.append(inner);
  }

  /** A string field (left out when empty, as proto3 does). */
  string(number: number, value: string): void {
    if (value !== "") this.field(number, utf8.encode(value));
  }

  /** A double field. */
  doubleField(number: number, value: number): void {
    this.varint((number << 3) | 1);
    this.double(value);
  }

  /** A varint field of a non-negative whole number. */
  varintField(number: number, value: number): void {
    this.varint(number << 3);
    this.varint(value);
  }

  /** A `sint32`/`sint64` field: zigzag-encoded. */
  sintField(number: number, value: number): void {
    this.varintField(number, zigzag(value));
  }

  /** A copy of what was written. */
  done(): Uint8Array {
    return this.#bytes.slice(0, this.length);
  }
}

/** How many bytes the varint of `value` takes. */
export function varintSize(value: number): number {
  let size = 1;
  for (let v = value; v >= 0x80; v = Math.floor(v / 0x80)) size++;
  return size;
}

/** Zigzag, as `sint32`/`sint64` are written: 0, -1, 1, -2 … as 0, 1, 2, 3 … (exact up to 2^52 in magnitude). */
export function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

/** A LabelPair (`{ string name = 1; string value = 2; }`) as field `field` of the message `w` writes. */
export function labelPair(w: Writer, field: number, name: string, value: string): void {
  const nameBytes = utf8.encode(name);
  const valueBytes = utf8.encode(value);
  const length = (nameBytes.length > 0 ? 1 + varintSize(nameBytes.length) + nameBytes.length : 0) +
    (valueBytes.length > 0 ? 1 + varintSize(valueBytes.length) + valueBytes.length : 0);
  w.varint((field << 3) | 2);
  w.varint(length);
  if (nameBytes.length > 0) w.field(1, nameBytes);
  if (valueBytes.length > 0) w.field(2, valueBytes);
}
