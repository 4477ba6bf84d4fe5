/**
 * Reads back the Prometheus text exposition this package renders (`render.ts`): one series per
 * line, `name{label="value",...} value`, with `\\`, `\"` and `\n` escaped in label values.
 * Comments and blank lines are skipped.
 * @module
 */

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
  const labels: Array<[string, string]> = [["__name__", line.slice(0, brace)]];
  let i = brace + 1;
  while (i < line.length && line[i] !== "}") {
    const eq = line.indexOf("=", i);
    if (eq === -1 || line[eq + 1] !== '"') return undefined;
    const name = line.slice(i, eq);
    let value = "";
    let j = eq + 2;
    for (; j < line.length && line[j] !== '"'; j++) {
      if (line[j] !== "\\") value += line[j];
      else {
        const next = line[++j];
        value += next === "n" ? "\n" : next;
      }
    }
    labels.push([name, value]);
    i = j + 1;
    if (line[i] === ",") i++;
  }
  const rest = line.slice(i + 1).trim();
  if (rest === "") return undefined;
  return { labels, value: number(rest.split(" ")[0]) };
}
