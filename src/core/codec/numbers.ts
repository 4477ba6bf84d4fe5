/**
 * Reading numbers out of stored text in place: the merge reads millions of them per scrape, most
 * of them whole counts, which need no slice of the text to read.
 * @module
 */

/** `Number(text.slice(start, end))`, without the slice for whole numbers of up to 15 digits; NaN for nothing. */
export function readNumber(text: string, start: number, end: number): number {
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
