/**
 * `serverless package` run by two test files at once (test/deploy, test/packaging) trips over
 * each other even with their own output and esbuild folders (seen under load: one of the two
 * packagings fails or ships a function without its code cache). The runs take turns through a
 * lock directory; one left by a killed run is taken over once it is older than any packaging.
 */
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const STALE_MS = 10 * 60_000;

export async function packagingInTurn<T>(root: string, run: () => Promise<T>): Promise<T> {
  mkdirSync(join(root, ".local"), { recursive: true });
  const lock = join(root, ".local", "serverless-package.lock");
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > STALE_MS) rmSync(lock, { recursive: true, force: true });
      } catch {
        // gone meanwhile: try again
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await run();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
