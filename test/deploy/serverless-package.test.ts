/**
 * What `serverless package` hands to CloudFormation, checked as an operator reviewing a deploy
 * would: the table and its indexes, every function and route, the schedule, the EventBridge
 * rule, and one least-privilege role per function.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { packagingInTurn } from "../support/packaging-lock";
import { configSchema } from "../../lib/config";
import { METRICS, type MetricName } from "../../lib/metrics/catalog";
import { tableDefinition } from "../../lib/store/table-definition";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
let dir: string;
let resources: Record<string, { Type: string; Properties: any }>;
let conditions: Record<string, unknown>;
const WORK = `.local/test-deploy-${process.pid}`;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sanboot-package-"));
  // its own esbuild work folder: the default .esbuild/ may be another package's or npm start's, built at the same time
  const env = { ...process.env, AWS_EC2_METADATA_DISABLED: "true", SLS_TELEMETRY_DISABLED: "1", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_PROFILE: "", SANBOOT_ESBUILD_WORK_FOLDER: WORK };
  await packagingInTurn(ROOT, () => run(join(ROOT, "node_modules/.bin/serverless"), ["package", "--package", dir], { cwd: ROOT, env, timeout: 240_000 }));
  const template = JSON.parse(readFileSync(join(dir, "cloudformation-template-update-stack.json"), "utf8"));
  resources = template.Resources;
  conditions = template.Conditions ?? {};
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  rmSync(join(ROOT, WORK), { recursive: true, force: true });
});

const ofType = (t: string) => Object.entries(resources).filter(([, r]) => r.Type === t);

describe("serverless package", () => {
  it("declares the state table exactly as the service creates it locally", () => {
    const table = resources.StateTable!.Properties;
    const local = tableDefinition("x");
    expect(table.KeySchema).toEqual(local.KeySchema);
    expect([...table.AttributeDefinitions].sort((a: any, b: any) => a.AttributeName.localeCompare(b.AttributeName))).toEqual(
      [...local.AttributeDefinitions!].sort((a, b) => a.AttributeName!.localeCompare(b.AttributeName!)),
    );
    const gsis = (g: any[]) => g.map((i) => ({ IndexName: i.IndexName, KeySchema: i.KeySchema })).sort((a, b) => a.IndexName.localeCompare(b.IndexName));
    expect(gsis(table.GlobalSecondaryIndexes)).toEqual(gsis(local.GlobalSecondaryIndexes!));
  });

  it("has every function on nodejs22.x, each with its own role", () => {
    const fns = ofType("AWS::Lambda::Function");
    const names = fns.map(([k]) => k).sort();
    expect(names).toEqual([
      "AttachLambdaFunction",
      "FirmwareLambdaFunction",
      "IntakeLambdaFunction",
      "NodesLambdaFunction",
      "OpenapiLambdaFunction",
      "RelayLambdaFunction",
      "SitesLambdaFunction",
      "StatusLambdaFunction",
      "SweeperLambdaFunction",
    ]);
    const roles = new Set<string>();
    for (const [, f] of fns) {
      expect(f.Properties.Runtime).toBe("nodejs22.x");
      roles.add(JSON.stringify(f.Properties.Role));
    }
    expect(roles.size).toBe(fns.length);
  });

  it("routes every API path of the design", () => {
    const routes = ofType("AWS::ApiGatewayV2::Route").map(([, r]) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(
      [
        "DELETE /v1/nodes/{node_id}",
        "DELETE /v1/nodes/{node_id}/boot-from-volume",
        "DELETE /v1/sites/{site}",
        "GET /v1/boot-requests",
        "GET /v1/boot-requests/{request_id}",
        "GET /v1/nodes",
        "GET /v1/nodes/{node_id}",
        "GET /v1/openapi.json",
        "GET /v1/relay/whoami",
        "GET /v1/sites",
        "GET /v1/sites/{site}",
        "PATCH /v1/nodes/{node_id}",
        "PATCH /v1/sites/{site}",
        "POST /v1/nodes",
        "POST /v1/nodes/{node_id}/boot-from-volume",
        "POST /v1/relay/commands/{command_id}/heartbeat",
        "POST /v1/relay/commands/{command_id}/release",
        "POST /v1/relay/commands/{command_id}/result",
        "POST /v1/relay/lease",
        "POST /v1/sites",
      ].sort(),
    );
  });

  it("runs the sweeper every minute and routes BootFromVolumeRequested events to intake", () => {
    const rules = ofType("AWS::Events::Rule").map(([, r]) => r.Properties);
    expect(rules.some((r) => r.ScheduleExpression === "rate(1 minute)")).toBe(true);
    const pattern = rules.find((r) => r.EventPattern)?.EventPattern;
    expect(pattern).toMatchObject({ source: ["sanboot.requests"], "detail-type": ["BootFromVolumeRequested"] });
  });

  it("grants no wildcard action and no wildcard resource on the table", () => {
    for (const [name, role] of ofType("AWS::IAM::Role")) {
      for (const policy of role.Properties.Policies ?? []) {
        for (const st of policy.PolicyDocument.Statement) {
          const actions: string[] = [st.Action].flat();
          for (const a of actions) expect(a, `${name} allows ${a}`).not.toMatch(/\*/);
          if (actions.some((a) => a.startsWith("dynamodb:"))) expect(JSON.stringify(st.Resource), name).not.toBe('"*"');
        }
      }
    }
  });

  it("passes every setting lib/config.ts reads to every function, so none is lost on AWS", () => {
    // the Lambda runtime sets AWS_REGION itself; SANBOOT_KMS_ENDPOINT points at the lab's KMS emulator only
    const notOnAws = new Set(["AWS_REGION", "SANBOOT_KMS_ENDPOINT"]);
    // a retry queue's URL goes only to the function that sends to it
    const own: Record<string, string> = { SANBOOT_ATTACH_RETRY_QUEUE_URL: "AttachLambdaFunction", SANBOOT_FIRMWARE_RETRY_QUEUE_URL: "FirmwareLambdaFunction" };
    const settings = Object.keys(configSchema.shape).filter((k) => !notOnAws.has(k));
    const functions = ofType("AWS::Lambda::Function");
    expect(functions.length).toBeGreaterThan(0);
    for (const [name, fn] of functions) {
      const passed = Object.keys(fn.Properties.Environment?.Variables ?? {});
      const needed = settings.filter((k) => !(k in own) || own[k] === name);
      expect(needed.filter((k) => !passed.includes(k)), `${name} is not given`).toEqual([]);
    }
  });

  it.each([
    // the relay's result handler saves a read_fc_inventory result on the node: read, then a versioned put
    ["RelayRole", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]],
    // a node update or delete frees a lock left by a request that has ended (releaseNode)
    ["NodesRole", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]],
    // a site's record, its token lookups (put, deleted), its node count, its relays' records forgotten
    ["SitesRole", ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]],
  ] as const)("%s may make the table writes its handlers make", (role, needed) => {
    const granted = resources[role]!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement)
      .filter((st: any) => JSON.stringify(st.Resource) === JSON.stringify({ "Fn::GetAtt": ["StateTable", "Arn"] }))
      .flatMap((st: any) => [st.Action].flat());
    expect(granted).toEqual(expect.arrayContaining([...needed]));
  });

  it("seals secrets with the stack's own KMS key, usable only by the functions that handle them", () => {
    expect(resources.SecretsKey?.Type).toBe("AWS::KMS::Key");
    expect(resources.SecretsKey!.Properties.EnableKeyRotation).toBe(true);
    const kmsUsers = Object.entries(resources)
      .filter(([, r]) => r.Type === "AWS::IAM::Role")
      .filter(([, r]) => JSON.stringify(r.Properties.Policies).includes("kms:"))
      .map(([k]) => k)
      .sort();
    expect(kmsUsers).toEqual(["AttachRole", "FirmwareRole", "RelayRole"]);
    expect(resources.AttachLambdaFunction!.Properties.Environment.Variables.SANBOOT_KMS_KEY_ID).toEqual({ Ref: "SecretsKey" });
  });

  it.each([
    // a boot asks whether the node's site has a relay online (its relays' records)
    ["IntakeRole", ["by_project"]],
    // sites and relays listed, a site's nodes counted, its commands shown
    ["SitesRole", ["by_project", "by_node", "site_queue"]],
    // the due requests; the sites and their relays, for the relay-silent count
    ["SweeperRole", ["due", "by_project"]],
  ] as const)("%s may query the indexes its handlers query", (role, indexes) => {
    const granted = resources[role]!.Properties.Policies.flatMap((p: any) => p.PolicyDocument.Statement)
      .filter((st: any) => [st.Action].flat().includes("dynamodb:Query"))
      .flatMap((st: any) => [st.Resource].flat())
      .map((r: any) => r["Fn::Join"]?.[1]?.at(-1));
    expect(granted.sort()).toEqual([...indexes].sort());
  });

  it("lets the function that serves the OpenAPI document write its logs and nothing else", () => {
    const st = resources.OpenapiRole!.Properties.Policies[0].PolicyDocument.Statement;
    expect(st.flatMap((s: any) => [s.Action].flat()).sort()).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
    expect(resources.OpenapiLambdaFunction!.Properties.Role).toEqual({ "Fn::GetAtt": ["OpenapiRole", "Arn"] });
  });

  it("gives each step function a retry queue it consumes, and lets only that function send to it (and the functions that run firmware steps too: relay on a result, attach after attach_volume)", () => {
    const queues = ofType("AWS::SQS::Queue").map(([k]) => k).sort();
    expect(queues).toEqual(["AttachRetryQueue", "FirmwareRetryQueue"]);
    const mappings = ofType("AWS::Lambda::EventSourceMapping").map(([, r]) => r.Properties);
    for (const [fn, queue, timeout] of [["AttachLambdaFunction", "AttachRetryQueue", 120], ["FirmwareLambdaFunction", "FirmwareRetryQueue", 60]] as const) {
      const mapping = mappings.find((m) => JSON.stringify(m.EventSourceArn) === JSON.stringify({ "Fn::GetAtt": [queue, "Arn"] }));
      expect(mapping, `${queue} feeds ${fn}`).toMatchObject({ BatchSize: 1, FunctionName: { "Fn::GetAtt": [fn, "Arn"] } });
      // AWS refuses an event source whose queue hides a message for less than the function may run
      expect(resources[queue]!.Properties.VisibilityTimeout).toBeGreaterThan(timeout);
      expect(resources[fn]!.Properties.Timeout).toBe(timeout);
    }
    const senders = Object.entries(resources)
      .filter(([, r]) => r.Type === "AWS::IAM::Role")
      .flatMap(([name, r]) =>
        (r.Properties.Policies ?? []).flatMap((p: any) =>
          p.PolicyDocument.Statement.filter((st: any) => [st.Action].flat().includes("sqs:SendMessage")).map((st: any) => [name, st.Resource]),
        ),
      );
    const retrySenders = senders.filter(([, res]) => JSON.stringify(res).includes("RetryQueue"));
    expect(retrySenders).toEqual([
      ["AttachRole", [{ "Fn::GetAtt": ["AttachRetryQueue", "Arn"] }, { "Fn::GetAtt": ["FirmwareRetryQueue", "Arn"] }]],
      ["FirmwareRole", { "Fn::GetAtt": ["FirmwareRetryQueue", "Arn"] }],
      ["RelayRole", { "Fn::GetAtt": ["FirmwareRetryQueue", "Arn"] }],
    ]);
    // the rest ring the relays' doorbell queues (the functions that queue or hand back a command), nothing else
    const ringers = senders.filter((x) => !retrySenders.includes(x));
    expect(ringers.map(([role]) => role).sort()).toEqual(["AttachRole", "FirmwareRole", "NodesRole", "RelayRole"]);
    for (const [, res] of ringers) expect(JSON.stringify(res)).toMatch(/:sqs:\$\{AWS::Region\}:\$\{AWS::AccountId\}:sanboot-[a-z]+-relay-\*"/);
    expect(resources.RelayLambdaFunction!.Properties.Environment.Variables.SANBOOT_FIRMWARE_RETRY_QUEUE_URL).toEqual({ Ref: "FirmwareRetryQueue" });
    expect(resources.AttachLambdaFunction!.Properties.Environment.Variables.SANBOOT_ATTACH_RETRY_QUEUE_URL).toEqual({ Ref: "AttachRetryQueue" });
    expect(resources.AttachLambdaFunction!.Properties.Environment.Variables.SANBOOT_FIRMWARE_RETRY_QUEUE_URL).toEqual({ Ref: "FirmwareRetryQueue" });
    expect(resources.FirmwareLambdaFunction!.Properties.Environment.Variables.SANBOOT_FIRMWARE_RETRY_QUEUE_URL).toEqual({ Ref: "FirmwareRetryQueue" });
  });

  it("caps the attach function's concurrency, and with it the calls in flight at Cinder's volume service", () => {
    const cap = resources.AttachLambdaFunction!.Properties.ReservedConcurrentExecutions;
    expect(cap).toBe(8);
    const mapping = ofType("AWS::Lambda::EventSourceMapping").find(([, r]) => JSON.stringify(r.Properties.FunctionName).includes("AttachLambdaFunction"))!;
    expect(mapping[1].Properties.ScalingConfig).toEqual({ MaximumConcurrency: cap });
  });

  it("lets only the functions that open stored target secrets decrypt with the stack's key (attach, which talks to Cinder, seals only)", () => {
    const decrypting = Object.entries(resources)
      .filter(([, r]) => r.Type === "AWS::IAM::Role")
      .filter(([, r]) => (r.Properties.Policies ?? []).some((p: any) => p.PolicyDocument.Statement.some((st: any) => [st.Action].flat().includes("kms:Decrypt"))))
      .map(([name]) => name)
      .sort();
    expect(decrypting).toEqual(["FirmwareRole", "RelayRole"]);
  });

  it("gives the read-only status function no write on the table", () => {
    const st = resources.StatusRole!.Properties.Policies[0].PolicyDocument.Statement;
    const actions = st.flatMap((s: any) => [s.Action].flat());
    expect(actions.filter((a: string) => /dynamodb:(Put|Update|Delete)/.test(a))).toEqual([]);
  });
});

describe("serverless package: alarms and the dashboard", () => {
  /** packaged with no SANBOOT_METRICS_NAMESPACE: the stage's own */
  const NAMESPACE = "sanboot/dev";
  const alarm = (name: string) => resources[name]!.Properties;

  it.each([
    // [alarm, metric, statistic, threshold, comparison, missing data]
    ["FailedBootsAlarm", "BootFailed", "Sum", 3, "GreaterThanOrEqualToThreshold", "notBreaching"],
    ["UndeployFailedAlarm", "UndeployFailed", "Sum", 0, "GreaterThanThreshold", "notBreaching"],
    ["RequestsPastDeadlineAlarm", "RequestsPastDeadline", "Maximum", 0, "GreaterThanThreshold", "breaching"],
    ["SitesRelaySilentAlarm", "SitesRelaySilent", "Maximum", 0, "GreaterThanThreshold", "ignore"],
    ["SweeperErrorsAlarm", "SweeperErrors", "Sum", 0, "GreaterThanThreshold", "notBreaching"],
  ] as const)("%s watches %s (%s) against %s, %s, missing data %s", (name, metric, statistic, threshold, comparison, missing) => {
    expect(resources[name]?.Type).toBe("AWS::CloudWatch::Alarm");
    expect(alarm(name)).toMatchObject({ Namespace: NAMESPACE, MetricName: metric, Statistic: statistic, ComparisonOperator: comparison, TreatMissingData: missing });
    expect(Number(alarm(name).Threshold)).toBe(threshold);
  });

  it("counts failed boots over five minutes, and a request past its deadline only after three sweeps in a row", () => {
    expect(alarm("FailedBootsAlarm")).toMatchObject({ Period: 300, EvaluationPeriods: 1 });
    expect(alarm("RequestsPastDeadlineAlarm")).toMatchObject({ Period: 60, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
  });

  it("alarms on the sweeper function's own errors", () => {
    expect(alarm("SweeperFunctionErrorsAlarm")).toMatchObject({
      Namespace: "AWS/Lambda",
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: { Ref: "SweeperLambdaFunction" } }],
      Statistic: "Sum",
      Threshold: 0,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
  });

  it("names, in every alarm of its own metrics, a dimension set the code publishes: service, and the metric's dimensions or its total", () => {
    const own = ofType("AWS::CloudWatch::Alarm").filter(([, r]) => r.Properties.Namespace === NAMESPACE);
    expect(own.length).toBeGreaterThanOrEqual(5);
    for (const [name, r] of own) {
      const spec = METRICS[r.Properties.MetricName as MetricName];
      expect(spec, `${name} watches ${r.Properties.MetricName}, which the code does not publish`).toBeDefined();
      const dims: Array<{ Name: string; Value: string }> = r.Properties.Dimensions;
      expect(dims.find((d) => d.Name === "service")?.Value, name).toBe("sanboot");
      const rest = dims.filter((d) => d.Name !== "service").map((d) => d.Name).sort();
      const published = [[...spec.dimensions].sort(), ...("total" in spec ? [[]] : [])];
      expect(published, name).toContainEqual(rest);
    }
  });

  it("notifies a topic only when one is given, and grants no permission for any of it", () => {
    // packaged without SANBOOT_ALARM_TOPIC_ARN: the condition is false, the actions are dropped
    expect(conditions.HasAlarmTopic).toEqual({ "Fn::Not": [{ "Fn::Equals": ["", ""] }] });
    for (const [, r] of ofType("AWS::CloudWatch::Alarm")) expect(r.Properties.AlarmActions).toEqual({ "Fn::If": ["HasAlarmTopic", [""], { Ref: "AWS::NoValue" }] });
    // the metrics are log lines: no role may call CloudWatch or SNS
    for (const [name, role] of ofType("AWS::IAM::Role")) expect(JSON.stringify(role.Properties.Policies), name).not.toMatch(/"(cloudwatch|sns):/);
  });

  it("has a dashboard of boots, failures by code, durations, Cinder and BMC latency and the relay queue, every metric one the code emits", () => {
    const [[, dashboard] = []] = ofType("AWS::CloudWatch::Dashboard");
    expect(dashboard, "no dashboard").toBeDefined();
    const body = JSON.parse((dashboard!.Properties.DashboardBody["Fn::Sub"] as string).replace(/\$\{AWS::Region\}/g, "us-east-1"));
    const charted = new Set<string>();
    for (const w of body.widgets.filter((w: any) => w.type === "metric")) {
      expect(w.properties.region).toBe("us-east-1");
      for (const row of w.properties.metrics as unknown[][]) {
        const first = row[0] as string | { expression: string };
        if (typeof first === "object") {
          // SEARCH('{namespace,dims} MetricName="X"', ...)
          const m = /SEARCH\('\{([^,}]+),[^}]*\} MetricName="(\w+)"/.exec(first.expression);
          expect(m, first.expression).not.toBeNull();
          expect(m![1]).toBe(NAMESPACE);
          charted.add(m![2]!);
        } else if (first === NAMESPACE) {
          charted.add(row[1] as string);
        } else {
          expect(`${first} ${row[1]}`).toBe("AWS/Lambda Errors");
        }
      }
    }
    for (const name of charted) expect(Object.keys(METRICS), `the dashboard charts ${name}`).toContain(name);
    expect([...charted]).toEqual(
      expect.arrayContaining(["BootStarted", "BootSucceeded", "BootFailed", "UndeployStarted", "StepDuration", "RequestDuration", "CinderLatency", "CinderErrors", "BmcLatency", "BmcErrors", "RelayCommandQueued", "RelayCommandWait"]),
    );
  });
});
