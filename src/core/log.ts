/**
 * The logger the exporter writes to. Every problem is logged once per occurrence of a condition
 * (an outage, a bad setting), never once per attempt.
 * @module
 */

/** Where the exporter's messages go. `console` fits. */
export interface Logger {
  /** Something the user should fix or know. */
  warn(message: string): void;
  /** Something failed. */
  error(message: string): void;
}

/** The default logger: console, with a prefix that says where the line comes from. */
export const consoleLogger: Logger = {
  warn: (message) => console.warn(`[hono-prometheus-exporter] ${message}`),
  error: (message) => console.error(`[hono-prometheus-exporter] ${message}`),
};
