import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { test } from "node:test";

test("on Deno without --allow-env the exporter uses its defaults and warns once", () => {
  const result = spawnSync(
    "node_modules/.bin/deno",
    ["run", "--no-prompt", "--allow-read", "tests/support/fixtures/deno_env.ts"],
    {
      encoding: "utf8",
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", PROMETHEUS_METRICS_PORT: "1234" },
    },
  );
  const output = `${result.stdout}${result.stderr}`;
  assert.equal(result.status, 0, output);
  assert.match(
    output,
    /port=9091 bind=0\.0\.0\.0/,
    "PROMETHEUS_METRICS_PORT=1234 could not be read, so the default stands",
  );
  assert.match(output, /scrape=200/);
  const warnings = output.split("\n").filter((l) => l.includes("cannot read environment variables"));
  assert.equal(warnings.length, 1, output);
  assert.match(warnings[0], /Run with --allow-env/);
});
