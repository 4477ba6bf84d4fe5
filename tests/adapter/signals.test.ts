import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { commandFor, RUNTIME } from "../support/runtime.ts";
import { renderDirectory, sample } from "../support/sim.ts";
import { start } from "../support/spawn.ts";

async function run(appHandler: boolean): Promise<{ code: number | null; output: string; jobs: number | undefined }> {
  const root = mkdtempSync(join(tmpdir(), "hpe-signals-"));
  const dir = join(root, "metrics");
  try {
    const [command, args] = commandFor("tests/support/fixtures/app_shutdown.ts");
    const app = await start(command, args, {
      PROMETHEUS_MULTIPROC_DIR: dir,
      APP_HANDLER: appHandler ? "1" : "0",
    }, /ready/);
    const code = await app.stop("SIGTERM");
    return { code, output: app.output(), jobs: sample(await renderDirectory(dir), "jobs_total") };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

// Deno cannot tell whether the app listens to a signal: there, an app with its own handler sets
// handleSignals: false (docs/runtimes.md, Lifecycle hooks).
const skip = RUNTIME === "deno" ? "Deno cannot tell whether the app listens to a signal" : false;

const withHandler =
  `SIGTERM with the app's own handler: the exporter publishes and lets the app finish its shutdown (${RUNTIME})`;
test(skip ? `${withHandler} (skipped on deno: ${skip})` : withHandler, { skip }, async () => {
  const { code, output, jobs } = await run(true);
  assert.equal(code, 0, output);
  assert.match(output, /closing db\.\.\.[\s\S]*db closed/);
  assert.equal(jobs, 42, "what the app recorded during its own shutdown is published too");
});

test(`SIGTERM with no handler of the app's: the exporter publishes everything and ends the process (${RUNTIME})`, async () => {
  const { code, output, jobs } = await run(false);
  assert.equal(code, 0, output);
  assert.equal(jobs, 41);
});
