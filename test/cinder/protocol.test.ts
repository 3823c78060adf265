/**
 * Pure pieces of the protocol story, by table: Fibre Channel connection_info as drivers send it
 * (recorded shapes), the backend-protocol check before attaching, and `auto`.
 */
import { describe, expect, it } from "vitest";
import type { AttachRequest, VolumeInfo } from "../../lib/cinder/block-storage";
import { connectionFrom, fcConnection } from "../../lib/cinder/cinder-wire";
import { assertProtocol, protocolFor, servedProtocols } from "../../lib/cinder/volume-checks";
import { SanbootError } from "../../lib/errors";
import { connector, fcConnector } from "./contract";

const VOL = "5a1e3c1c-0000-4000-8000-000000000001";

describe("Fibre Channel connection_info → FcConnection", () => {
  it.each([
    ["a single string (one target port)", "500a098186679c7d", ["500a098186679c7d"]],
    ["a list", ["500a098186679c7d", "500a098196679c7d"], ["500a098186679c7d", "500a098196679c7d"]],
    ["upper case with colons", ["50:0A:09:81:86:67:9C:7D"], ["500a098186679c7d"]],
  ])("target_wwn as %s", (_label, wire, expected) => {
    const c = fcConnection({ driver_volume_type: "fibre_channel", target_wwn: wire, target_lun: 3 }, VOL);
    expect(c).toEqual({ driver_volume_type: "fibre_channel", target_wwn: expected, target_lun: 3 });
  });

  it("normalises initiator_target_map keys and values", () => {
    const c = fcConnection(
      { target_wwn: ["500a098186679c7d"], target_lun: 0, initiator_target_map: { "10000090FA0D6754": ["50:0a:09:81:86:67:9c:7d"] } },
      VOL,
    );
    expect(c.initiator_target_map).toEqual({ "10000090fa0d6754": ["500a098186679c7d"] });
  });

  it.each([
    ["no target_wwn", { target_lun: 1 }],
    ["a WWN that is not 16 hex digits", { target_wwn: "500a0981", target_lun: 1 }],
    ["no target_lun", { target_wwn: "500a098186679c7d" }],
  ])("%s is CINDER_REJECTED", (_label, ci) => {
    expect(() => fcConnection(ci, VOL)).toThrow(expect.objectContaining({ code: "CINDER_REJECTED" }));
  });
});

describe("connectionFrom: the type Cinder exported against the one asked for", () => {
  const fcInfo = { driver_volume_type: "fibre_channel", target_wwn: "500a098186679c7d", target_lun: 1 };
  const iscsiInfo = { driver_volume_type: "iscsi", target_iqn: "iqn.x:v", target_portal: "10.0.0.1:3260", target_lun: 1 };
  const req = (over: Partial<AttachRequest>): AttachRequest => ({ volumeId: VOL, instanceUuid: "i", connector: connector(), ...over });

  it.each([
    ["iSCSI asked, iSCSI exported", req({ protocol: "iscsi" }), iscsiInfo, "iscsi"],
    ["FC asked, FC exported", req({ protocol: "fibre_channel", connector: fcConnector() }), fcInfo, "fibre_channel"],
    ["nothing asked, an FC-only connector, FC exported", req({ connector: fcConnector() }), fcInfo, "fibre_channel"],
    ["nothing asked, a connector with both, either accepted", req({ connector: connector({ wwpns: ["10000090fa0d6754"] }) }), fcInfo, "fibre_channel"],
  ])("%s → ok", (_label, r, ci, type) => {
    expect(connectionFrom(ci, r).driver_volume_type).toBe(type);
  });

  it.each([
    ["iSCSI asked, FC exported", req({ protocol: "iscsi" }), fcInfo],
    ["an initiator-only connector, FC exported", req({}), fcInfo],
    ["FC asked, iSCSI exported", req({ protocol: "fibre_channel" }), iscsiInfo],
    ["an RBD export", req({}), { driver_volume_type: "rbd", name: "volumes/v" }],
  ])("%s → VOLUME_WRONG_PROTOCOL", (_label, r, ci) => {
    expect(() => connectionFrom(ci, r)).toThrow(expect.objectContaining({ code: "VOLUME_WRONG_PROTOCOL" }));
  });
});

describe("assertProtocol and protocolFor", () => {
  const volume = (backend_protocol: string | null, volume_type = "gold"): VolumeInfo => ({
    id: VOL,
    status: "available",
    bootable: true,
    project_id: "p",
    volume_type,
    size: 1,
    multiattach: false,
    backend_protocol,
  });

  it.each([
    ["iSCSI", ["iscsi"]],
    ["iscsi", ["iscsi"]],
    ["FC", ["fibre_channel"]],
    ["fibre_channel", ["fibre_channel"]],
    ["iSCSI,FC", ["iscsi", "fibre_channel"]],
    ["iSCSI_FC", ["iscsi", "fibre_channel"]],
    ["NVMe-oF", []],
    ["ceph", []],
    [null, []],
  ])("storage_protocol %s serves %j", (raw, expected) => {
    expect([...servedProtocols(raw)].sort()).toEqual([...expected].sort());
  });

  it.each([
    ["iSCSI", "auto", "iscsi"],
    ["FC", "auto", "fibre_channel"],
    ["iSCSI,FC", "auto", "iscsi"],
    [null, "auto", "iscsi"],
    ["FC", "iscsi", "iscsi"],
    ["iSCSI", "fibre_channel", "fibre_channel"],
  ] as const)("backend %s, requested %s → %s", (raw, requested, expected) => {
    expect(protocolFor(volume(raw), requested)).toBe(expected);
  });

  it.each([
    ["iSCSI", "iscsi", true],
    ["FC", "fibre_channel", true],
    ["iSCSI,FC", "fibre_channel", true],
    [null, "fibre_channel", true], // unknown: attach finds out
    ["FC", "iscsi", false],
    ["iSCSI", "fibre_channel", false],
    ["ceph", "iscsi", false],
  ] as const)("backend %s, wanted %s → passes: %s", (raw, wanted, passes) => {
    const run = () => assertProtocol(volume(raw), wanted);
    if (passes) expect(run).not.toThrow();
    else expect(run).toThrow(SanbootError);
  });

  it("says what to do", () => {
    expect(() => assertProtocol(volume("FC", "gold-fc"), "iscsi")).toThrow(
      `Volume ${VOL}: volume type gold-fc is on an FC backend (FC), not iSCSI: ask for protocol fibre_channel (or auto), or retype the volume (openstack volume set --type <type on an iSCSI backend> --retype-policy on-demand ${VOL}).`,
    );
    expect(() => assertProtocol(volume("ceph"), "iscsi")).toThrow(/on a ceph backend, and sanboot boots over iSCSI or Fibre Channel only: retype the volume/);
  });
});
