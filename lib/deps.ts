/**
 * The service's dependencies, built once per process from configuration. Handlers call
 * getDeps(); a host that runs handlers in-process (tests, bench) installs its own with useDeps().
 *
 * Each function's module names the parts it uses with provideDeps(), so that its bundle holds
 * only those clients (issue 11, cold start): the builders are separate exports, and esbuild drops
 * the ones a function does not name with their SDK client (the SDK's ES modules declare no side
 * effects; serverless.yml's mainFields). undici is CommonJS and is never dropped, so the Cinder
 * client and the caller auth are not imported here: the functions that use them pass their
 * classes in, and createDeps() (every part, for in-process hosts) imports them on first use.
 */
import type { BlockStorage } from "./cinder/block-storage";
import type { CinderClient } from "./cinder/cinder-client";
import { cinderConfigFrom, keystoneValidator } from "./cinder/cinder-settings";
import { systemClock, type Clock } from "./clock";
import { loadConfig, type Config } from "./config";
import { createKmsSecretBox, createSecretBox, type SecretBox } from "./crypto/secret-box";
import { delayQueueFrom } from "./dispatch/delay-queue";
import { InlineDispatcher, LambdaDispatcher, type Dispatcher } from "./dispatch/dispatcher";
import { SanbootError } from "./errors";
import { EventBridgePublisher, LogPublisher, type EventPublisher } from "./events/publisher";
import { StaticCallers, type CallerAuth } from "./http/callers";
import { createLogger, type Logger } from "./log";
import { cinderCallMetrics } from "./metrics/cinder-calls";
import { EmfMetrics } from "./metrics/emf-metrics";
import { noMetrics, type MetricsPort } from "./metrics/metrics-port";
import { LocalDoorbell, withRelayDoorbell } from "./service/relay-doorbell";
import { SqsDoorbell } from "./service/sqs-doorbell";
import { StateTable } from "./store/state-table";

export interface Deps {
  config: Config;
  store: import("./store/state-store").StateStore;
  cinder: BlockStorage;
  dispatcher: Dispatcher;
  publisher: EventPublisher;
  secrets: SecretBox;
  clock: Clock;
  log: Logger;
  /** counts and timings, written once per invocation (lib/metrics) */
  metrics: MetricsPort;
  /** who a caller's token says it is (static tokens, or Keystone's) */
  callers: CallerAuth;
}

/** The parts built from configuration; config, log, clock and metrics come with every set. */
type Part = Exclude<keyof Deps, "config" | "log" | "clock" | "metrics">;
const PARTS: readonly Part[] = ["callers", "store", "cinder", "dispatcher", "publisher", "secrets"];

export type PartBuilder<K extends Part> = (config: Config, base: Pick<Deps, "log" | "clock" | "metrics">) => Deps[K];
export type PartBuilders = { [K in Part]?: PartBuilder<K> };

// ---------------------------------------------------------------- the builders, one per part

/**
 * The state table, with the relay queue's doorbell of this process: a lease waiting here wakes as
 * soon as a command is queued in this process. Only with inline dispatch does every function run
 * in this process; elsewhere the lease keeps asking the table at its interval as well.
 */
export const stateTable: PartBuilder<"store"> = (config) =>
  withRelayDoorbell(
    new StateTable({ tableName: config.SANBOOT_TABLE, region: config.AWS_REGION, endpoint: config.SANBOOT_DYNAMODB_ENDPOINT }),
    new LocalDoorbell(config.SANBOOT_DISPATCH === "inline"),
  );

/**
 * The state table with the deployment's relay doorbell where there is one (an SQS queue per site,
 * SANBOOT_RELAY_BELL_QUEUE_URL_PREFIX): for the functions that queue commands or lease them, so a
 * lease hears a command queued by another function at once. Without one, as stateTable.
 */
export const belledStateTable: PartBuilder<"store"> = (config, base) =>
  config.SANBOOT_RELAY_BELL_QUEUE_URL_PREFIX
    ? withRelayDoorbell(
        new StateTable({ tableName: config.SANBOOT_TABLE, region: config.AWS_REGION, endpoint: config.SANBOOT_DYNAMODB_ENDPOINT }),
        new SqsDoorbell({ queueUrlPrefix: config.SANBOOT_RELAY_BELL_QUEUE_URL_PREFIX, region: config.AWS_REGION, endpoint: config.SANBOOT_SQS_ENDPOINT, log: base.log }),
      )
    : stateTable(config, base);

export const stepDispatcher: PartBuilder<"dispatcher"> = (config) =>
  config.SANBOOT_DISPATCH === "inline"
    ? new InlineDispatcher()
    : new LambdaDispatcher(config.SANBOOT_FUNCTION_PREFIX, config.AWS_REGION, config.SANBOOT_LAMBDA_ENDPOINT);

/** The step functions' own: what they retry goes through their SQS retry queues at its backoff time (lib/dispatch/delay-queue.ts). */
export const retryingDispatcher: PartBuilder<"dispatcher"> = (config) =>
  config.SANBOOT_DISPATCH === "inline"
    ? new InlineDispatcher()
    : new LambdaDispatcher(config.SANBOOT_FUNCTION_PREFIX, config.AWS_REGION, config.SANBOOT_LAMBDA_ENDPOINT, delayQueueFrom(config));

export const eventPublisher: PartBuilder<"publisher"> = (config, { log }) =>
  config.SANBOOT_EVENT_BUS === "log" ? new LogPublisher(log) : new EventBridgePublisher(config.SANBOOT_EVENT_BUS, config.AWS_REGION);

export const secretBox: PartBuilder<"secrets"> = (config) =>
  config.SANBOOT_KMS_KEY_ID
    ? createKmsSecretBox({ keyId: config.SANBOOT_KMS_KEY_ID, region: config.AWS_REGION, endpoint: config.SANBOOT_KMS_ENDPOINT })
    : createSecretBox(config.SANBOOT_SECRET_KEY!);

export const cinderWith =
  (Client: typeof CinderClient): PartBuilder<"cinder"> =>
  (config, { metrics }) =>
    new Client(cinderConfigFrom(config), { onCall: cinderCallMetrics(metrics) });

/**
 * One per process: the metrics of every function this process runs (one on Lambda). Every line
 * says `service: sanboot`, whichever function wrote it: an alarm names one exact set of
 * dimensions, so a metric must not move to another series with the function that happens to
 * emit it (a request's end is committed by whichever step ran last).
 */
export function metricsFrom(config: Config, log: Logger): MetricsPort {
  return config.SANBOOT_METRICS === "off" ? noMetrics : new EmfMetrics({ namespace: config.SANBOOT_METRICS_NAMESPACE, service: "sanboot", log });
}

/**
 * Callers by static token, or by Keystone token: the Keystone half (and its HTTP client) is
 * imported on the first call only, so a function with static tokens never loads it.
 */
export const callerAuth: PartBuilder<"callers"> = (config, { clock }) => {
  if (config.SANBOOT_AUTH === "static") return new StaticCallers(config.SANBOOT_API_TOKENS);
  const validator = keystoneValidator(config)!;
  let auth: Promise<CallerAuth> | undefined;
  const real = () =>
    (auth ??= import("./http/keystone-callers").then(
      (m) =>
        new m.KeystoneCallers(
          {
            authUrl: config.SANBOOT_KEYSTONE_URL!,
            validator: validator.credentials,
            validatorHint: validator.hint,
            timeoutMs: config.SANBOOT_CINDER_TIMEOUT_MS,
            cacheSeconds: config.SANBOOT_AUTH_CACHE_SECONDS,
          },
          clock,
        ),
    ));
  return { caller: async (token) => (await real()).caller(token) };
};

// ---------------------------------------------------------------- sets

/** The parts named, each built now; a part not named throws on use (a wiring error, never a request's). */
export function depsFrom(config: Config, builders: PartBuilders, overrides: Partial<Deps> = {}): Deps {
  const log = overrides.log ?? createLogger(config.SANBOOT_LOG_LEVEL, { service: "sanboot" });
  const clock = overrides.clock ?? systemClock;
  const metrics = overrides.metrics ?? metricsFrom(config, log);
  const deps = { config, log, clock, metrics } as Deps;
  for (const part of PARTS) {
    const value = overrides[part] ?? builders[part]?.(config, { log, clock, metrics });
    if (value !== undefined) (deps as Record<Part, unknown>)[part] = value;
    else
      Object.defineProperty(deps, part, {
        configurable: true,
        get: () => {
          throw new SanbootError("INTERNAL", `this function is not built with the ${part} dependency (lib/deps.ts)`);
        },
      });
  }
  return deps;
}

/** Every part: for a host that runs all the handlers in one process (lab/service-host.ts). */
export function createDeps(config: Config, overrides: Partial<Deps> = {}): Deps {
  return depsFrom(config, { store: stateTable, dispatcher: stepDispatcher, publisher: eventPublisher, secrets: secretBox, cinder: deferredCinder, callers: callerAuth }, overrides);
}

/** The Cinder client, imported and built on its first call. */
const deferredCinder: PartBuilder<"cinder"> = (config, base) => {
  let client: Promise<BlockStorage> | undefined;
  const real = () => (client ??= import("./cinder/cinder-client").then((m) => cinderWith(m.CinderClient)(config, base)));
  return {
    getVolume: async (...a) => (await real()).getVolume(...a),
    attach: async (...a) => (await real()).attach(...a),
    detach: async (...a) => (await real()).detach(...a),
  };
};

// ---------------------------------------------------------------- this process's set

let provided: PartBuilders | null = null;
let current: Deps | null = null;

/** Called by a function's module: the parts getDeps() builds when no host installed a set. */
export function provideDeps(builders: PartBuilders): void {
  provided = builders;
}

export function getDeps(): Deps {
  if (!current && !provided) throw new SanbootError("INTERNAL", "no dependencies: a function's module names them with provideDeps(), a host installs them with useDeps()");
  current ??= depsFrom(loadConfig(), provided!);
  return current;
}

export function useDeps(deps: Deps | null): void {
  current = deps;
}
