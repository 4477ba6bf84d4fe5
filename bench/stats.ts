/** Small statistics helpers for the benchmarks. */

/** The median of `values`. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Formats a ratio against its target, with a verdict. */
export function verdict(ratio: number, target: number, direction: "<=" | ">="): string {
  const ok = direction === "<=" ? ratio <= target : ratio >= target;
  return `${ratio.toFixed(3)}x (target ${direction} ${target}x: ${ok ? "met" : "MISSED"})`;
}

/** Prints rows as a Markdown table. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}
