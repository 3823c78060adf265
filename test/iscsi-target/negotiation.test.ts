/**
 * Operational negotiation (RFC 7143 §6.2, §13) as a table: what the target answers to each
 * offer, and the session parameters that follow.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_PARAMS, negotiateOperational } from "../../lab/iscsi-target/negotiation";

function answer(key: string, value: string, discovery = false) {
  const r = negotiateOperational([[key, value]], DEFAULT_PARAMS, { discovery, already: new Set() });
  return { answer: r.answers.find(([k]) => k === key)?.[1], params: r.params };
}

describe("operational keys", () => {
  it.each([
    // list: the first of the initiator's values we support
    ["HeaderDigest", "CRC32C,None", "None"],
    ["HeaderDigest", "CRC32C", "Reject"],
    ["DataDigest", "None", "None"],
    // Boolean OR (InitialR2T, DataPDUInOrder, DataSequenceInOrder): ours No for InitialR2T
    ["InitialR2T", "Yes", "Yes"],
    ["InitialR2T", "No", "No"],
    ["DataPDUInOrder", "No", "Yes"],
    // Boolean AND (ImmediateData): ours Yes
    ["ImmediateData", "No", "No"],
    ["ImmediateData", "Yes", "Yes"],
    ["ImmediateData", "Maybe", "Reject"],
    // numerical min / max
    ["MaxConnections", "8", "1"],
    ["ErrorRecoveryLevel", "2", "0"],
    ["MaxBurstLength", "262144", "262144"],
    ["MaxBurstLength", "0x1000", "4096"],
    ["MaxBurstLength", "100", "Reject"],
    ["MaxOutstandingR2T", "16", "8"],
    ["DefaultTime2Wait", "2", "2"],
    ["DefaultTime2Retain", "20", "0"],
    // retired RFC 3720 markers
    ["IFMarker", "Yes", "No"],
    ["OFMarkInt", "2048~8192", "Irrelevant"],
  ])("%s=%s is answered %s", (key, offer, expected) => {
    expect(answer(key, offer).answer).toBe(expected);
  });

  it("takes the initiator's declared MaxRecvDataSegmentLength without answering it", () => {
    const r = answer("MaxRecvDataSegmentLength", "8192");
    expect(r.answer).toBeUndefined();
    expect(r.params.initiatorMaxRecvDataSegmentLength).toBe(8192);
  });

  it("keeps FirstBurstLength within MaxBurstLength", () => {
    const r = negotiateOperational(
      [
        ["MaxBurstLength", "4096"],
        ["FirstBurstLength", "65536"],
      ],
      DEFAULT_PARAMS,
      { discovery: false, already: new Set() },
    );
    expect(Object.fromEntries(r.answers)).toMatchObject({ MaxBurstLength: "4096", FirstBurstLength: "4096" });
    expect([r.params.maxBurstLength, r.params.firstBurstLength]).toEqual([4096, 4096]);
  });

  it("records the results in the session parameters", () => {
    const r = negotiateOperational(
      [
        ["InitialR2T", "Yes"],
        ["ImmediateData", "No"],
        ["MaxBurstLength", "262144"],
      ],
      DEFAULT_PARAMS,
      { discovery: false, already: new Set() },
    );
    expect(r.params).toMatchObject({ initialR2T: true, immediateData: false, maxBurstLength: 262144 });
  });

  it.each(["MaxConnections", "InitialR2T", "ImmediateData", "MaxBurstLength", "FirstBurstLength", "MaxOutstandingR2T", "DataPDUInOrder", "DataSequenceInOrder"])(
    "answers %s Irrelevant in a discovery session",
    (key) => {
      expect(answer(key, key.startsWith("M") || key.startsWith("F") ? "8192" : "Yes", true).answer).toBe("Irrelevant");
    },
  );

  it("answers a key negotiated earlier in the same login Reject", () => {
    const already = new Set<string>();
    negotiateOperational([["MaxBurstLength", "8192"]], DEFAULT_PARAMS, { discovery: false, already });
    const again = negotiateOperational([["MaxBurstLength", "4096"]], DEFAULT_PARAMS, { discovery: false, already });
    expect(again.answers).toEqual([["MaxBurstLength", "Reject"]]);
  });

  it("leaves keys that are not operational to the caller", () => {
    expect(negotiateOperational([["InitiatorName", "iqn.x"], ["X-Vendor", "1"]], DEFAULT_PARAMS, { discovery: false, already: new Set() }).answers).toEqual([]);
  });
});
