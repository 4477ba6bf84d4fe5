/**
 * Renders merged families as Prometheus text 0.0.4 or OpenMetrics 1.0.0, byte-compatible with
 * prom-client's output. Series keys are stored pre-escaped, so rendering is concatenation.
 * @module
 */
import type { Distribution, MergedFamily } from "./merge.ts";
import { escapeHelp } from "./series.ts";

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics text. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** An exposition format. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** Chooses OpenMetrics when the scraper's `Accept` header asks for it, else the text format. */
export function negotiateFormat(accept: string | null | undefined): ExpositionFormat {
  return accept && accept.includes("application/openmetrics-text") ? "openmetrics" : "prometheus";
}

/** The content type of `format`. */
export function contentTypeOf(format: ExpositionFormat): string {
  return format === "openmetrics" ? OPENMETRICS_CONTENT_TYPE : PROMETHEUS_CONTENT_TYPE;
}

/** Renders `families` (in name order) in `format`. */
export function render(families: Iterable<MergedFamily>, format: ExpositionFormat): string {
  const sorted = [...families].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const open = format === "openmetrics";
  const chunks: string[] = [];
  for (const family of sorted) {
    if (family.values.size === 0 && family.distributions.size === 0) continue;
    chunks.push(renderFamily(family, open));
  }
  return open ? `${chunks.join("")}# EOF\n` : chunks.join("\n");
}

function renderFamily(family: MergedFamily, open: boolean): string {
  const { type } = family.descriptor;
  let name = family.name;
  let sample = name;
  if (open && type === "counter") {
    // OpenMetrics names the family without _total and every counter sample with it.
    if (name.endsWith("_total")) name = name.slice(0, -6);
    sample = `${name}_total`;
  }
  let out = `# HELP ${name} ${escapeHelp(family.descriptor.help)}\n# TYPE ${name} ${type}\n`;
  if (type === "counter" || type === "gauge") {
    for (const [labels, value] of family.values) out += `${sample}${labels} ${formatValue(value)}\n`;
    return out;
  }
  const bounds = (family.descriptor.buckets ?? []).map(formatValue);
  for (const [labels, d] of family.distributions) {
    if (type === "histogram") out += renderBuckets(name, labels, bounds, d);
    out += `${name}_sum${labels} ${formatValue(d.sum)}\n${name}_count${labels} ${formatValue(d.count)}\n`;
  }
  return out;
}

function renderBuckets(name: string, labels: string, bounds: string[], d: Distribution): string {
  const prefix = labels === "" ? `${name}_bucket{le="` : `${name}_bucket${labels.slice(0, -1)},le="`;
  let out = "";
  for (let i = 0; i < bounds.length; i++) out += `${prefix}${bounds[i]}"} ${formatValue(d.buckets[i])}\n`;
  return `${out}${prefix}+Inf"} ${formatValue(d.count)}\n`;
}

/** Formats a sample value as both formats want it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
