/**
 * The API caller and lab setup for the tests: the plain client lives in ./api-client (no vitest,
 * the benchmark uses it too); this module adds what needs vitest's hooks.
 */
import { afterAll, beforeAll } from "vitest";
import { startLocalStack, type LocalStack, type LocalStackOptions } from "../../lab/local-stack";
import { apiFor, type Api } from "./api-client";

export { Api, apiFor, cinderAdmin, enrollLabNode, waitForRelay, type Reply } from "./api-client";

/**
 * One local stack for the whole file: started before the first test, closed after the last.
 * `use` receives it and its API caller.
 */
export function useLocalStack(opts: LocalStackOptions, use: (stack: LocalStack, api: Api) => void): void {
  let stack: LocalStack | undefined;
  beforeAll(async () => {
    stack = await startLocalStack(opts);
    use(stack, apiFor(stack));
  });
  afterAll(async () => stack?.close());
}
