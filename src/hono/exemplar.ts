/**
 * The exemplar of a request: the trace and span ids of its W3C `traceparent` header
 * (`00-<32 hex trace id>-<16 hex span id>-<flags>`), as OpenMetrics exemplar labels, for sampled
 * traces only (well within the 128 characters OpenMetrics allows an exemplar's labels); or the
 * labels the app's own function returns, checked against those limits.
 * @module
 */
import { escapeLabelValue, isValidLabelName } from "../core/codec/series_key.ts";

/** The most characters of an exemplar's label names and values together (OpenMetrics). */
export const EXEMPLAR_LABELS_LENGTH = 128;

/**
 * The labels part (without braces) of what the app's exemplar function returned; undefined for
 * none. Throws an Error that says what is wrong when the labels cannot be an exemplar's.
 */
export function exemplarLabels(labels: unknown): string | undefined {
  if (labels === undefined || labels === null) return undefined;
  if (typeof labels !== "object") throw new Error(`the exemplar function returned ${typeof labels}, not labels`);
  let length = 0;
  let out = "";
  for (const [name, value] of Object.entries(labels)) {
    // A label without a value (`{ trace_id: c.get("traceId") }` where there is none) is no label.
    if (value === undefined || value === null || value === "") continue;
    if (!isValidLabelName(name)) {
      throw new Error(
        `the exemplar label ${JSON.stringify(name)} is not a label name: ` +
          'letters, digits and "_", not starting with a digit or "__"',
      );
    }
    const text = String(value);
    length += [...name].length + [...text].length;
    out += `${out === "" ? "" : ","}${name}="${escapeLabelValue(text)}"`;
  }
  if (length > EXEMPLAR_LABELS_LENGTH) {
    throw new Error(
      `the exemplar's labels are ${length} characters, over the ${EXEMPLAR_LABELS_LENGTH} OpenMetrics allows`,
    );
  }
  return out === "" ? undefined : out;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;
const ZEROS = /^0+$/;

/** `trace_id="…",span_id="…"` of the request's `traceparent`, or undefined when it has none that is valid. */
export function exemplarOf(request: Request): string | undefined {
  const header = request.headers.get("traceparent");
  if (header === null) return undefined;
  const m = TRACEPARENT.exec(header.trim().toLowerCase());
  if (m === null || m[1] === "ff" || ZEROS.test(m[2]) || ZEROS.test(m[3])) return undefined;
  // Version 00 ends after the flags; a trace that was not sampled has nothing to link to.
  if ((m[1] === "00" && m[5] !== undefined) || (parseInt(m[4], 16) & 1) === 0) return undefined;
  return `trace_id="${m[2]}",span_id="${m[3]}"`;
}
