/**
 * Renders merged families as Prometheus text 0.0.4 or OpenMetrics 1.0.0, byte-compatible with
 * prom-client's output. Series keys are stored pre-escaped, so rendering is concatenation.
 * @module
 */
import type { Distribution, Exemplar, MergedFamily } from "./family.ts";
import { escapeHelp } from "../codec/series_key.ts";
import { PROTOBUF_CONTENT_TYPE } from "./protobuf.ts";

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** Content type of OpenMetrics text. */
export const OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** A text exposition format. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** A format a scrape can be answered in: a text one, or the protobuf exposition (`protobuf.ts`). */
export type ScrapeFormat = ExpositionFormat | "protobuf";

/**
 * Chooses the format the scraper's `Accept` header prefers (by its `q` weight, as Prometheus
 * sends it): the protobuf exposition (delimited `io.prometheus.client.MetricFamily`), OpenMetrics,
 * else the text format. On a tie the richer format wins. `q=0` means "not this".
 */
export function negotiateFormat(accept: string | null | undefined): ScrapeFormat {
  if (!accept) return "prometheus";
  let protobuf = 0;
  let openMetrics = 0;
  let text = 0;
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";").map((part) => part.trim().toLowerCase());
    let q = 1;
    let proto = "";
    let encoding = "";
    for (const param of params) {
      if (param.startsWith("proto=")) proto = param.slice(6);
      else if (param.startsWith("encoding=")) encoding = param.slice(9);
      if (!param.startsWith("q=")) continue;
      const weight = Number(param.slice(2));
      q = Number.isFinite(weight) && weight >= 0 && weight <= 1 ? weight : 0;
    }
    if (type === "application/vnd.google.protobuf") {
      if (proto === "io.prometheus.client.metricfamily" && encoding === "delimited") protobuf = Math.max(protobuf, q);
    } else if (type === "application/openmetrics-text") openMetrics = Math.max(openMetrics, q);
    else if (type === "text/plain" || type === "text/*" || type === "*/*") text = Math.max(text, q);
  }
  if (protobuf > 0 && protobuf >= openMetrics && protobuf >= text) return "protobuf";
  return openMetrics > 0 && openMetrics >= text ? "openmetrics" : "prometheus";
}

/** The content type of `format`. */
export function contentTypeOf(format: ScrapeFormat): string {
  return format === "protobuf"
    ? PROTOBUF_CONTENT_TYPE
    : format === "openmetrics"
    ? OPENMETRICS_CONTENT_TYPE
    : PROMETHEUS_CONTENT_TYPE;
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
  // Exemplars are OpenMetrics' alone: the text format has no place for them.
  const exemplars = open ? family.exemplars : undefined;
  if (type === "counter" || type === "gauge") {
    for (const [labels, value] of family.values) {
      const exemplar = exemplars?.get(labels);
      out += `${sample}${labels} ${formatValue(value)}${exemplarText(exemplar)}\n`;
    }
    return out;
  }
  const bounds = (family.descriptor.buckets ?? []).map(formatValue);
  for (const [labels, d] of family.distributions) {
    if (type === "histogram") out += renderBuckets(name, labels, bounds, d, exemplars);
    out += `${name}_sum${labels} ${formatValue(d.sum)}\n${name}_count${labels} ${formatValue(d.count)}\n`;
  }
  return out;
}

function renderBuckets(
  name: string,
  labels: string,
  bounds: string[],
  d: Distribution,
  exemplars: ReadonlyMap<string, Exemplar> | undefined,
): string {
  const prefix = labels === "" ? `${name}_bucket{le="` : `${name}_bucket${labels.slice(0, -1)},le="`;
  const exemplar = (i: number) => exemplarText(exemplars?.get(`${labels}|${i}`));
  let out = "";
  for (let i = 0; i < bounds.length; i++) out += `${prefix}${bounds[i]}"} ${formatValue(d.buckets[i])}${exemplar(i)}\n`;
  return `${out}${prefix}+Inf"} ${formatValue(d.count)}${exemplar(bounds.length)}\n`;
}

/** An exemplar as OpenMetrics writes it after its sample, ` # {trace_id="…"} value timestamp`; empty for none. */
function exemplarText(e: Exemplar | undefined): string {
  return e === undefined ? "" : ` # {${e.labels}} ${formatValue(e.value)} ${e.at / 1000}`;
}

/** Formats a sample value as both formats want it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

/**
 * Leaves out of `families` each metric whose exposed names collide with an earlier one's (in name
 * order), such as a counter `dup` (exposing `dup_total`) beside a gauge `dup_total`: OpenMetrics
 * parsers reject the whole exposition for it. Returns one message per metric left out.
 */
export function dropCollisions(families: Map<string, MergedFamily>): string[] {
  const claimed = new Map<string, string>();
  const messages: string[] = [];
  for (const name of [...families.keys()].sort()) {
    const family = families.get(name)!;
    const names = exposedNames(family);
    const clash = names.find((n) => claimed.has(n));
    if (clash !== undefined) {
      families.delete(name);
      messages.push(
        `metric ${name} (${family.descriptor.type}) is left out: its name ${clash} collides with metric ` +
          `${claimed.get(clash)}, and OpenMetrics parsers reject both; rename one of them`,
      );
      continue;
    }
    for (const n of names) claimed.set(n, name);
  }
  return messages;
}

/** Every name a family's exposition uses, in either format. */
function exposedNames(family: MergedFamily): string[] {
  const { type } = family.descriptor;
  const base = type === "counter" && family.name.endsWith("_total") ? family.name.slice(0, -6) : family.name;
  switch (type) {
    case "counter":
      return [base, `${base}_total`, `${base}_created`];
    case "gauge":
      return [base];
    case "histogram":
      return [base, `${base}_bucket`, `${base}_sum`, `${base}_count`, `${base}_created`];
    default:
      return [base, `${base}_sum`, `${base}_count`, `${base}_created`];
  }
}
