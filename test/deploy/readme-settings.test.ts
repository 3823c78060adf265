/** The README's configuration table names every setting lib/config.ts reads, each in full. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../lib/config";

const README = readFileSync(join(__dirname, "..", "..", "README.md"), "utf8");
const section = README.slice(README.indexOf("## Configuration (service)"), README.indexOf("\n## ", README.indexOf("## Configuration (service)") + 1));

describe("README: Configuration (service)", () => {
  it("lists every setting by its full name (AWS_REGION aside: the Lambda runtime sets it)", () => {
    const missing = Object.keys(configSchema.shape).filter((k) => k !== "AWS_REGION" && !section.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });

  it("abbreviates none of them", () => {
    expect(section).not.toMatch(/`_[A-Z]/);
    expect(section).not.toMatch(/\.\.\.|…/);
  });
});
