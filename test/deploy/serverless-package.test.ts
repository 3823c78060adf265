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
import { configSchema } from "../../lib/config";
import { tableDefinition } from "../../lib/store/table-definition";

const run = promisify(execFile);
const ROOT = join(__dirname, "..", "..");
let dir: string;
let resources: Record<string, { Type: string; Properties: any }>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "sanboot-package-"));
  const env = { ...process.env, AWS_EC2_METADATA_DISABLED: "true", SLS_TELEMETRY_DISABLED: "1", AWS_ACCESS_KEY_ID: "", AWS_SECRET_ACCESS_KEY: "", AWS_PROFILE: "" };
  await run(join(ROOT, "node_modules/.bin/serverless"), ["package", "--package", dir], { cwd: ROOT, env, timeout: 240_000 });
  resources = JSON.parse(readFileSync(join(dir, "cloudformation-template-update-stack.json"), "utf8")).Resources;
}, 300_000);
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));

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
        "GET /v1/boot-requests",
        "GET /v1/boot-requests/{request_id}",
        "GET /v1/nodes",
        "GET /v1/nodes/{node_id}",
        "GET /v1/openapi.json",
        "PATCH /v1/nodes/{node_id}",
        "POST /v1/nodes",
        "POST /v1/nodes/{node_id}/boot-from-volume",
        "POST /v1/relay/commands/{command_id}/heartbeat",
        "POST /v1/relay/commands/{command_id}/release",
        "POST /v1/relay/commands/{command_id}/result",
        "POST /v1/relay/lease",
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

  it("lets the function that serves the OpenAPI document write its logs and nothing else", () => {
    const st = resources.OpenapiRole!.Properties.Policies[0].PolicyDocument.Statement;
    expect(st.flatMap((s: any) => [s.Action].flat()).sort()).toEqual(["logs:CreateLogStream", "logs:PutLogEvents"]);
    expect(resources.OpenapiLambdaFunction!.Properties.Role).toEqual({ "Fn::GetAtt": ["OpenapiRole", "Arn"] });
  });

  it("gives each step function a retry queue it consumes, and lets only that function send to it", () => {
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
    expect(senders).toEqual([
      ["AttachRole", { "Fn::GetAtt": ["AttachRetryQueue", "Arn"] }],
      ["FirmwareRole", { "Fn::GetAtt": ["FirmwareRetryQueue", "Arn"] }],
    ]);
    expect(resources.AttachLambdaFunction!.Properties.Environment.Variables.SANBOOT_ATTACH_RETRY_QUEUE_URL).toEqual({ Ref: "AttachRetryQueue" });
    expect(resources.FirmwareLambdaFunction!.Properties.Environment.Variables.SANBOOT_FIRMWARE_RETRY_QUEUE_URL).toEqual({ Ref: "FirmwareRetryQueue" });
  });

  it("caps the attach function's concurrency, and with it the calls in flight at Cinder's volume service", () => {
    const cap = resources.AttachLambdaFunction!.Properties.ReservedConcurrentExecutions;
    expect(cap).toBe(8);
    const mapping = ofType("AWS::Lambda::EventSourceMapping").find(([, r]) => JSON.stringify(r.Properties.FunctionName).includes("AttachLambdaFunction"))!;
    expect(mapping[1].Properties.ScalingConfig).toEqual({ MaximumConcurrency: cap });
  });

  it("gives the read-only status function no write on the table", () => {
    const st = resources.StatusRole!.Properties.Policies[0].PolicyDocument.Statement;
    const actions = st.flatMap((s: any) => [s.Action].flat());
    expect(actions.filter((a: string) => /dynamodb:(Put|Update|Delete)/.test(a))).toEqual([]);
  });
});
