// How the Lambda runtime starts node for a function (issue 11, cold start): what the code cache is
// written under (packaging/v8-code-cache.cjs: V8 rejects a cache written under other V8 flags) and
// what bench/cold-start.ts measures a function with, so that neither is kinder than Lambda.
//
// The nodejs runtimes' bootstrap (/var/runtime/bootstrap) runs
//   node --expose-gc --max-http-header-size 81920 \
//        --max-semi-space-size=<memory/10/2> --max-old-space-size=<memory - memory/10> /var/runtime/index.mjs
// (MB, integer division; AWS_LAMBDA_FUNCTION_MEMORY_SIZE) and passes the function's NODE_OPTIONS
// on in its environment. Flags on the command line win over the same flags in NODE_OPTIONS, so a
// NODE_OPTIONS semi-space or old-space size has no effect there.

/** node's arguments under the Lambda bootstrap for a function of this many MB */
function lambdaNodeArgs(memorySize) {
  const newSpace = Math.floor(memorySize / 10);
  return ["--expose-gc", "--max-http-header-size", "81920", `--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memorySize - newSpace}`];
}

/** nodejs22.x → 22; null for a runtime that is not node's */
function runtimeNodeMajor(runtime) {
  const m = /^nodejs(\d+)\.x$/.exec(runtime ?? "");
  return m ? Number(m[1]) : null;
}

/** Lambda's architecture (x86_64 when none is given, as Lambda's default) as node names it: x64, arm64 */
function nodeArch(architecture) {
  const a = architecture ?? "x86_64";
  if (a === "x86_64") return "x64";
  if (a === "arm64") return "arm64";
  throw new Error(`a Lambda architecture is x86_64 or arm64, not "${a}"`);
}

/**
 * A function's runtime, memory, NODE_OPTIONS, node arguments and architecture (node's name for
 * it: arm64, x64), from a service as serverless holds it (serverless.service while packaging,
 * `service` in .serverless/serverless-state.json).
 */
function functionNodeSettings(service, name) {
  const fn = service.functions?.[name] ?? {};
  const provider = service.provider ?? {};
  const memorySize = Number(fn.memorySize ?? provider.memorySize ?? 1024);
  const env = { ...(provider.environment ?? {}), ...(fn.environment ?? {}) };
  const nodeOptions = typeof env.NODE_OPTIONS === "string" ? env.NODE_OPTIONS : "";
  const runtime = fn.runtime ?? provider.runtime ?? null;
  const arch = nodeArch(fn.architecture ?? provider.architecture);
  return { runtime, memorySize, nodeOptions, args: lambdaNodeArgs(memorySize), arch };
}

module.exports = { lambdaNodeArgs, runtimeNodeMajor, functionNodeSettings, nodeArch };
