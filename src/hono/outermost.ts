/**
 * One record per request: the outermost recorder a request passes (a `prometheus()` middleware or
 * `instrument`) records it, since it sees the whole duration and the final response. While the
 * request runs, that recorder marks its raw Request, so that every recorder inside it (a sub-app's
 * middleware, the same middleware twice, a middleware under `instrument`, a sub-app served with
 * `sub.fetch(c.req.raw, ...)`) records nothing and leaves what it saw for the outer one.
 * @module
 */

/** What a recorder inside the outermost one saw in its app: the route matched, the error caught. */
export interface Inner {
  readonly route: string;
  /** What that app's error handler received, if anything. */
  readonly error: unknown;
}

/**
 * A request's marks, one per set of HTTP metrics (so that two registries each count it once):
 * `true` while the outermost recorder runs, or what the innermost recorder that saw something saw.
 * A property rather than a WeakSet entry: a WeakSet costs every request far more.
 */
export type Marks = Record<symbol, true | Inner | undefined>;

/** The key under which one set of HTTP metrics marks the requests it records. */
export function recordingKey(): symbol {
  return Symbol("hono-prometheus-exporter.recording");
}

/**
 * Leaves `route` and `error`, seen by a recorder inside the outermost one, to the outermost one.
 * The innermost recorder finishes first: what it saw (a sub-app's own route) is kept.
 */
export function noteInner(marks: Marks, key: symbol, route: string, error: unknown): void {
  if (marks[key] === true && (route !== "" || error !== undefined)) marks[key] = { route, error };
}

/** Clears the outermost recorder's mark; returns what a recorder inside it saw, if anything. */
export function takeInner(marks: Marks, key: symbol): Inner | undefined {
  const mark = marks[key];
  marks[key] = undefined;
  return mark === true ? undefined : mark;
}
