/**
 * Requests so malformed that no app can see them (a Host header that makes no URL): the runtime
 * adapters' `serve` answers them 400 itself, and tells the HTTP metrics here, so that they are
 * counted like any other request (route `malformed`).
 * @module
 */

/** Told of each malformed request, with its method. */
export type MalformedRequestListener = (method: string) => void;

const listeners = new Set<MalformedRequestListener>();

/** Registers `listener`; returns the function that removes it. */
export function onMalformedRequest(listener: MalformedRequestListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Tells every listener of one malformed request. A listener that throws is skipped. */
export function reportMalformedRequest(method: string): void {
  for (const listener of listeners) {
    try {
      listener(method);
    } catch {
      // Counting must never fail the answer.
    }
  }
}
