/**
 * The service's dependencies, built once per process from configuration. Handlers call
 * getDeps(); a host that runs handlers in-process (tests, bench) installs its own with useDeps().
 */
import type { BlockStorage } from "./cinder/block-storage";
import { CinderClient } from "./cinder/cinder-client";
import { cinderConfigFrom } from "./cinder/cinder-settings";
import { systemClock, type Clock } from "./clock";
import { loadConfig, type Config } from "./config";
import { createKmsSecretBox, createSecretBox, type SecretBox } from "./crypto/secret-box";
import { InlineDispatcher, LambdaDispatcher, type Dispatcher } from "./dispatch/dispatcher";
import { EventBridgePublisher, LogPublisher, type EventPublisher } from "./events/publisher";
import { createLogger, type Logger } from "./log";
import { StateTable } from "./store/state-table";
import { KeystoneCallers, StaticCallers, type CallerAuth } from "./http/callers";
import { keystoneValidator } from "./cinder/cinder-settings";

export interface Deps {
  config: Config;
  store: StateTable;
  cinder: BlockStorage;
  dispatcher: Dispatcher;
  publisher: EventPublisher;
  secrets: SecretBox;
  clock: Clock;
  log: Logger;
  /** who a caller's token says it is (static tokens, or Keystone's) */
  callers: CallerAuth;
}

export function createDeps(config: Config, overrides: Partial<Deps> = {}): Deps {
  const log = overrides.log ?? createLogger(config.SANBOOT_LOG_LEVEL, { service: "sanboot" });
  const clock = overrides.clock ?? systemClock;
  return {
    config,
    log,
    clock,
    callers: overrides.callers ?? callerAuthFrom(config, clock),
    store:
      overrides.store ??
      new StateTable({ tableName: config.SANBOOT_TABLE, region: config.AWS_REGION, endpoint: config.SANBOOT_DYNAMODB_ENDPOINT }),
    cinder:
      overrides.cinder ??
      new CinderClient(cinderConfigFrom(config)),
    dispatcher:
      overrides.dispatcher ??
      (config.SANBOOT_DISPATCH === "inline"
        ? new InlineDispatcher()
        : new LambdaDispatcher(config.SANBOOT_FUNCTION_PREFIX, config.AWS_REGION, config.SANBOOT_LAMBDA_ENDPOINT)),
    publisher: overrides.publisher ?? (config.SANBOOT_EVENT_BUS === "log" ? new LogPublisher(log) : new EventBridgePublisher(config.SANBOOT_EVENT_BUS, config.AWS_REGION)),
    secrets:
      overrides.secrets ??
      (config.SANBOOT_KMS_KEY_ID
        ? createKmsSecretBox({ keyId: config.SANBOOT_KMS_KEY_ID, region: config.AWS_REGION, endpoint: config.SANBOOT_KMS_ENDPOINT })
        : createSecretBox(config.SANBOOT_SECRET_KEY!)),
  };
}

function callerAuthFrom(config: Config, clock: Clock): CallerAuth {
  if (config.SANBOOT_AUTH === "static") return new StaticCallers(config.SANBOOT_API_TOKENS);
  const validator = keystoneValidator(config)!;
  return new KeystoneCallers(
    {
      authUrl: config.SANBOOT_KEYSTONE_URL!,
      validator: validator.credentials,
      validatorHint: validator.hint,
      timeoutMs: config.SANBOOT_CINDER_TIMEOUT_MS,
      cacheSeconds: config.SANBOOT_AUTH_CACHE_SECONDS,
    },
    clock,
  );
}

let current: Deps | null = null;

export function getDeps(): Deps {
  current ??= createDeps(loadConfig());
  return current;
}

export function useDeps(deps: Deps | null): void {
  current = deps;
}
