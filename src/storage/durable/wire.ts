/**
 * What travels between an isolate and the metrics Durable Object: JSON in which every Map is
 * `{ "$map": [[key, value], ...] }`, so that updates, outcomes and states keep their shape.
 * @module
 */

/** `value` as JSON, Maps included. */
export function toWire(value: unknown): string {
  return JSON.stringify(value, (_key, v) => (v instanceof Map ? { $map: [...v] } : v));
}

/** A value written by {@link toWire}. */
export function fromWire<T>(text: string): T {
  return JSON.parse(text, (_key, v) => {
    if (v !== null && typeof v === "object" && Array.isArray((v as { $map?: unknown }).$map)) {
      return new Map((v as { $map: Array<[unknown, unknown]> }).$map);
    }
    return v;
  }) as T;
}
