/**
 * Reads back the Prometheus text exposition this package renders (`render.ts`): one series per
 * line, `name{label="value",...} value`, with `\\`, `\"` and `\n` escaped in label values.
 * Comments and blank lines are skipped.
 * @module
 */
import { readLabels } from "../codec/series_key.ts";

/** One sample line: its labels (with `__name__`) and its value. */
export interface ParsedSample {
  readonly labels: Array<[string, string]>;
  readonly value: number;
}

function number(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

/** The samples of `text`; a line that does not read is left out. */
export function parseExposition(text: string): ParsedSample[] {
  const out: ParsedSample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const parsed = parseLine(line);
    if (parsed !== undefined) out.push(parsed);
  }
  return out;
}

function parseLine(line: string): ParsedSample | undefined {
  const brace = line.indexOf("{");
  const space = line.indexOf(" ");
  if (brace === -1 || (space !== -1 && space < brace)) {
    if (space === -1) return undefined;
    return { labels: [["__name__", line.slice(0, space)]], value: number(line.slice(space + 1).split(" ")[0]) };
  }
  const read = readLabels(line, brace);
  if (read === undefined) return undefined;
  const rest = line.slice(read.end).trim();
  if (rest === "") return undefined;
  return { labels: [["__name__", line.slice(0, brace)], ...read.labels], value: number(rest.split(" ")[0]) };
}
