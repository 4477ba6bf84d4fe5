/** Runs Prometheus's own `promtool check metrics` on an exposition. */
import { spawnSync } from "node:child_process";

/** The problems promtool reports (empty when clean); throws when promtool is missing. */
export function promtoolCheck(exposition: string): string {
  const result = spawnSync("promtool", ["check", "metrics"], { input: exposition, encoding: "utf8" });
  if (result.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${result.error.message}`);
  return `${result.stdout}${result.stderr}`.trim();
}
