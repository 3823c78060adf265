/**
 * The one state table: its keys and indexes. serverless.yml declares the same table for AWS
 * (test/store/table-definition.test.ts keeps the two equal); local mode creates it from here.
 *
 * Items and access patterns:
 * | item        | pk            | sk    | indexes                                                     |
 * |-------------|---------------|-------|-------------------------------------------------------------|
 * | node        | NODE#<id>     | NODE  | by_project (list a project's nodes)                          |
 * | request     | REQ#<id>      | REQ   | by_project (list), by_node (list a node's), due (sweeper)    |
 * | command     | CMD#<id>      | CMD   | site_queue (a site's leasable commands, by time available)   |
 * | idempotency | IDEM#<p>#<k>  | IDEM  | none                                                          |
 * | site        | SITE#<site>   | SITE  | by_project (SITES: list the sites)                           |
 * | relay seen  | SITE#<site>   | RELAY#<relay id> | by_project (RELAYS: every site's relays)          |
 * | relay token | RTOK#<sha256> | RTOK  | none (the lookup from a token to its site)                   |
 * Nodes are also in by_node under SITE#<site>#NODE (a site's nodes counted).
 * Index attributes are written only while they apply (sparse): a finished request leaves `due`,
 * a finished command leaves `site_queue`. No request path scans.
 */
import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb";

export const INDEX = {
  byProject: "by_project",
  byNode: "by_node",
  due: "due",
  siteQueue: "site_queue",
} as const;

/** due-index partitions: spreads the sweeper's writes over several partitions on AWS */
export const DUE_SHARDS = 4;

const S = "S" as const;

export function tableDefinition(tableName: string): CreateTableCommandInput {
  const gsi = (name: string, pk: string, sk: string) => ({
    IndexName: name,
    KeySchema: [
      { AttributeName: pk, KeyType: "HASH" as const },
      { AttributeName: sk, KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "ALL" as const },
  });
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "pk", AttributeType: S },
      { AttributeName: "sk", AttributeType: S },
      { AttributeName: "gsi_project_pk", AttributeType: S },
      { AttributeName: "gsi_project_sk", AttributeType: S },
      { AttributeName: "gsi_node_pk", AttributeType: S },
      { AttributeName: "gsi_node_sk", AttributeType: S },
      { AttributeName: "due_pk", AttributeType: S },
      { AttributeName: "due_at", AttributeType: S },
      { AttributeName: "queue_pk", AttributeType: S },
      { AttributeName: "queue_at", AttributeType: S },
    ],
    KeySchema: [
      { AttributeName: "pk", KeyType: "HASH" },
      { AttributeName: "sk", KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [
      gsi(INDEX.byProject, "gsi_project_pk", "gsi_project_sk"),
      gsi(INDEX.byNode, "gsi_node_pk", "gsi_node_sk"),
      gsi(INDEX.due, "due_pk", "due_at"),
      gsi(INDEX.siteQueue, "queue_pk", "queue_at"),
    ],
  };
}
