/**
 * Series keys: a metric name followed by its labels, sorted by label name and escaped exactly as
 * the Prometheus text format wants them. The key is both the storage field name and, once the
 * metric name is swapped for a sample name, the rendered sample line prefix.
 * @module
 */

/** Label values as prom-client hands them over. */
export type LabelValues = Record<string, string | number | undefined>;

const NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Whether `name` is a valid Prometheus metric name. */
export function isValidMetricName(name: string): boolean {
  return NAME_PATTERN.test(name);
}

/** Whether `name` is a valid Prometheus label name (and not reserved with `__`). */
export function isValidLabelName(name: string): boolean {
  return LABEL_PATTERN.test(name) && !name.startsWith("__");
}

/** Escapes a label value for the text exposition formats. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"') : value;
}

/** Escapes HELP text for the text exposition formats. */
export function escapeHelp(help: string): string {
  return /[\\\n]/.test(help) ? help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n") : help;
}

/**
 * Builds the `{a="1",b="2"}` part of a key, labels sorted by name, `skip` left out.
 * Returns the empty string when there are no labels.
 */
export function labelsPart(labels: LabelValues, skip?: string): string {
  const names = Object.keys(labels);
  if (names.length === 0) return "";
  if (names.length > 1) names.sort();
  let out = "";
  for (const name of names) {
    if (name === skip) continue;
    const value = labels[name];
    if (value === undefined) continue;
    out += `${out === "" ? "" : ","}${name}="${escapeLabelValue(String(value))}"`;
  }
  return out === "" ? "" : `{${out}}`;
}

/** The series key of `metric` with `labels`. */
export function seriesKey(metric: string, labels: LabelValues, skip?: string): string {
  return metric + labelsPart(labels, skip);
}

/** Splits a series key into its metric name and its labels part (`{...}` or empty). */
export function splitSeriesKey(key: string): [name: string, labels: string] {
  const brace = key.indexOf("{");
  return brace === -1 ? [key, ""] : [key.slice(0, brace), key.slice(brace)];
}

/** Adds one label (already a valid name, value unescaped) at the end of a labels part. */
export function appendLabel(labels: string, name: string, value: string): string {
  const pair = `${name}="${escapeLabelValue(value)}"`;
  return labels === "" ? `{${pair}}` : `${labels.slice(0, -1)},${pair}}`;
}

/**
 * Reads the labels of `text` from the `{` at `open` to its `}`, unescaping their values; `end` is
 * the index after the `}`. Undefined when they do not read.
 */
export function readLabels(text: string, open: number): { labels: Array<[string, string]>; end: number } | undefined {
  const labels: Array<[string, string]> = [];
  let i = open + 1;
  while (i < text.length && text[i] !== "}") {
    const eq = text.indexOf("=", i);
    if (eq === -1 || text[eq + 1] !== '"') return undefined;
    const name = text.slice(i, eq);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] !== "\\") value += text[j];
      else {
        const next = text[++j];
        value += next === "n" ? "\n" : next;
      }
    }
    if (j >= text.length) return undefined;
    labels.push([name, value]);
    i = j + 1;
    if (text[i] === ",") i++;
  }
  return i < text.length ? { labels, end: i + 1 } : undefined;
}

/** The labels of a labels part (`{a="1"}` or empty), unescaped; empty when it does not read. */
export function labelsOf(part: string): Array<[string, string]> {
  return part === "" ? [] : readLabels(part, 0)?.labels ?? [];
}
