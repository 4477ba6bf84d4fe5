/** The part of snappyjs (Snappy block compression in JavaScript) that remote write uses. */
declare module "snappyjs" {
  /** The Snappy block compression of `input`. */
  export function compress(input: Uint8Array): Uint8Array;
  /** What `compress` compressed. */
  export function uncompress(input: Uint8Array): Uint8Array;
}
