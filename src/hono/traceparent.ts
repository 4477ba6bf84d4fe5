/**
 * The exemplar of a request: the trace and span ids of its W3C `traceparent` header
 * (`00-<32 hex trace id>-<16 hex span id>-<flags>`), as OpenMetrics exemplar labels, for sampled
 * traces only. Well within the 128 characters OpenMetrics allows an exemplar's labels.
 * @module
 */

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
