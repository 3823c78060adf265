import { describe, expect, it } from "vitest";
import { guestForwards, ipxeHex, ipxeLun, ipxeScript, type IscsiBootPlan, type IscsiTarget } from "../../lab/machine/ipxe-script";
import { MachineError } from "../../lab/machine/machine-errors";
import { netdevOption, qemuArgs, type MachinePaths } from "../../lab/machine/qemu-args";
import type { QemuParts } from "../../lab/machine/qemu-support";

const IQN = "iqn.2010-10.org.openstack:volume-8d1f0b4e-3c1a-4d7e-9a55-0c2b9e4f6a11";
const plan: IscsiBootPlan = {
  initiator: "iqn.2026-11.org.example.sanboot:node-1",
  targets: [{ iqn: IQN, address: "127.0.0.1", port: 3260, lun: 1 }],
  chap: { username: "NJcZTzobSL8hEN4eRPTZ", secret: "mV2Rf9KSfGLmAwot" },
};

function withTarget(over: Partial<IscsiTarget>): IscsiBootPlan {
  return { ...plan, targets: [{ ...plan.targets[0], ...over }] };
}

function unhex(hex: string): string {
  return Buffer.from(hex.split(":").map((h) => parseInt(h, 16))).toString("utf8");
}

function settingOf(script: string, name: string): string | undefined {
  return script.split("\n").find((l) => l.startsWith(`set ${name} `))?.slice(`set ${name} `.length);
}

function invalid(p: IscsiBootPlan): string {
  try {
    ipxeScript(p);
  } catch (err) {
    if (err instanceof MachineError) return err.code;
    throw err;
  }
  return "accepted";
}

describe("ipxeScript", () => {
  it("sets the initiator and CHAP, then sanboots the target through its guest forward", () => {
    expect(ipxeScript(plan)).toBe(
      [
        "#!ipxe",
        "# iSCSI boot the way a NIC's boot ROM does it from iSCSIBoot",
        "set initiator-iqn iqn.2026-11.org.example.sanboot:node-1",
        `set username:hex ${ipxeHex("NJcZTzobSL8hEN4eRPTZ")}`,
        `set password:hex ${ipxeHex("mV2Rf9KSfGLmAwot")}`,
        `sanboot iscsi:10.0.2.100::3260:1:${IQN}`,
        "",
      ].join("\n"),
    );
  });

  it("writes no CHAP settings when the target needs none", () => {
    const { chap: _chap, ...open } = plan;
    const script = ipxeScript(open);
    expect(script).not.toMatch(/username|password/);
  });

  it.each([
    ["spaces and iPXE's chaining words", "p@ss w0rd ; && || end"],
    ["iPXE's setting expansion", "${password} ${net0/mac}"],
    ["quotes and backslashes", `it's "q" \\n`],
    ["a leading #", "#not-a-comment"],
    ["non-ASCII", "pässwörd-秘密"],
  ])("passes a secret with %s as hex, so iPXE takes the bytes as they are", (_what, secret) => {
    const script = ipxeScript({ ...plan, chap: { username: "user name $", secret } });
    const password = settingOf(script, "password:hex")!;
    expect(password).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2})*$/);
    expect(unhex(password)).toBe(secret);
    expect(unhex(settingOf(script, "username:hex")!)).toBe("user name $");
    expect(script).not.toContain(secret);
  });

  it("adds the target's credentials for mutual CHAP as reverse-username / reverse-password", () => {
    const script = ipxeScript({ ...plan, mutualChap: { username: "target-user", secret: "Mutual Secret#1 ${y}" } });
    expect(unhex(settingOf(script, "reverse-username:hex")!)).toBe("target-user");
    expect(unhex(settingOf(script, "reverse-password:hex")!)).toBe("Mutual Secret#1 ${y}");
  });

  it("refuses mutual CHAP without one-way CHAP (the target answers the initiator's challenge)", () => {
    const { chap: _chap, ...noChap } = plan;
    expect(invalid({ ...noChap, mutualChap: { username: "t", secret: "s" } })).toBe("INVALID_PLAN");
  });

  it("puts a secondary target on the same sanboot line, on its own guest address and port (multipath)", () => {
    const two: IscsiBootPlan = { ...plan, targets: [plan.targets[0], { iqn: `${IQN}-b`, address: "192.0.2.7", port: 3260, lun: 2 }] };
    expect(ipxeScript(two).split("\n").filter((l) => l.startsWith("sanboot"))).toEqual([
      `sanboot iscsi:10.0.2.100::3260:1:${IQN} iscsi:10.0.2.101::3261:2:${IQN}-b`,
    ]);
    expect(guestForwards(two).map((f) => [f.guestAddress, f.guestPort, f.target.address, f.target.port])).toEqual([
      ["10.0.2.100", 3260, "127.0.0.1", 3260],
      ["10.0.2.101", 3261, "192.0.2.7", 3260],
    ]);
  });

  it.each([
    [0, "0"],
    [1, "1"],
    [10, "a"],
    [255, "ff"],
    // flat addressing from 256: 0x4000 | lun
    [300, "412c"],
  ])("writes LUN %i as iPXE reads it (SAM, hex): %s", (lun, text) => {
    expect(ipxeLun(lun)).toBe(text);
  });

  it.each([
    ["an initiator that is no iSCSI name", { ...plan, initiator: "node 1" }],
    ["a target name with ${...}", withTarget({ iqn: "iqn.2010-10.org.openstack:${x}" })],
    ["a target name with a ?", withTarget({ iqn: "iqn.2010-10.org.openstack:vol?x" })],
    ["an address with a space", withTarget({ address: "127.0.0.1 -x" })],
    ["port 0", withTarget({ port: 0 })],
    ["a negative LUN", withTarget({ lun: -1 })],
    ["an empty secret", { ...plan, chap: { username: "u", secret: "" } }],
    ["no targets", { ...plan, targets: [] as unknown as IscsiBootPlan["targets"] }],
    ["three targets", { ...plan, targets: [plan.targets[0], plan.targets[0], plan.targets[0]] as unknown as IscsiBootPlan["targets"] }],
  ])("refuses %s", (_what, p) => {
    expect(invalid(p)).toBe("INVALID_PLAN");
  });
});

const parts: QemuParts = {
  qemu: "/usr/bin/qemu-system-x86_64",
  seabios: "/usr/share/seabios/bios-256k.bin",
  ipxeBiosRom: "/usr/lib/ipxe/qemu/pxe-e1000.rom",
  ipxeEfiRom: "/usr/lib/ipxe/qemu/efi-e1000.rom",
  ovmfCode: "/usr/share/OVMF/OVMF_CODE_4M.fd",
  ovmfVars: "/usr/share/OVMF/OVMF_VARS_4M.fd",
};
const paths: MachinePaths = {
  tftpDir: "/tmp/m,1/tftp",
  consoleLog: "/tmp/m,1/console.log",
  ovmfVars: "/tmp/m,1/OVMF_VARS.fd",
  relayScript: "/work/lab/machine/iscsi-relay.mjs",
  node: "/usr/bin/node",
};
const hw = { memoryMiB: 256, mac: "52:54:00:12:34:56", name: "lab" };

function option(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (args[i - 1] === flag ? [a] : []));
}

describe("qemuArgs", () => {
  it("runs TCG, one vCPU, 256 MiB, no display, the serial console on stdio", () => {
    const args = qemuArgs(parts, { mode: "bios" }, paths, hw);
    expect(option(args, "-accel")).toEqual(["tcg"]);
    expect(option(args, "-smp")).toEqual(["1"]);
    expect(option(args, "-m")).toEqual(["256"]);
    expect(option(args, "-display")).toEqual(["none"]);
    expect(option(args, "-serial")).toEqual(["chardev:console0"]);
    expect(option(args, "-chardev")[0]).toMatch(/^stdio,id=console0,signal=off,logfile=\/tmp\/m,,1\/console\.log,/);
  });

  it("BIOS: SeaBIOS with the legacy iPXE ROM on the e1000", () => {
    const args = qemuArgs(parts, { mode: "bios" }, paths, hw);
    expect(option(args, "-machine")).toEqual(["pc,graphics=off"]);
    expect(option(args, "-bios")).toEqual([parts.seabios]);
    expect(option(args, "-device")).toEqual([`e1000,netdev=net0,mac=52:54:00:12:34:56,romfile=${parts.ipxeBiosRom},bootindex=1`]);
  });

  it("UEFI: q35, OVMF code read-only and the machine's own copy of the variables, the EFI iPXE ROM", () => {
    const args = qemuArgs(parts, { mode: "uefi" }, paths, hw);
    expect(option(args, "-machine")).toEqual(["q35,graphics=off"]);
    expect(option(args, "-drive")).toEqual([
      `if=pflash,format=raw,unit=0,readonly=on,file=${parts.ovmfCode}`,
      "if=pflash,format=raw,unit=1,file=/tmp/m,,1/OVMF_VARS.fd",
    ]);
    expect(option(args, "-device")[0]).toContain(`romfile=${parts.ipxeEfiRom}`);
  });

  it("without iSCSI settings the network offers no boot file (and no TFTP)", () => {
    expect(netdevOption({ mode: "bios" }, paths)).toBe("user,id=net0,restrict=on");
  });

  it("forwards each target through a relay started per connection, commas doubled for QEMU", () => {
    const two: IscsiBootPlan = { ...plan, targets: [plan.targets[0], { ...plan.targets[0], address: "192.0.2.7", port: 3262 }] };
    // split at the single commas only: ",," is a comma inside a value
    expect(netdevOption({ mode: "uefi", iscsi: two }, paths).split(/,(?!,)(?<!,,)/)).toEqual([
      "user",
      "id=net0",
      "restrict=on",
      "tftp=/tmp/m,,1/tftp",
      "bootfile=boot.ipxe",
      "guestfwd=tcp:10.0.2.100:3260-cmd:'/usr/bin/node' --no-warnings '/work/lab/machine/iscsi-relay.mjs' '127.0.0.1' 3260",
      "guestfwd=tcp:10.0.2.101:3261-cmd:'/usr/bin/node' --no-warnings '/work/lab/machine/iscsi-relay.mjs' '192.0.2.7' 3262",
    ]);
  });

  it("never puts a CHAP secret on the command line", () => {
    expect(qemuArgs(parts, { mode: "bios", iscsi: plan }, paths, hw).join(" ")).not.toContain(plan.chap!.secret);
  });
});
