/**
 * Test-side access to a Cinder (the emulator or a real one) over plain HTTP, for what the
 * BlockStorage port does not do: create and delete volumes, look at attachments as Cinder keeps
 * them, and arm the emulator's faults. Deliberately independent of lib/cinder.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { request } from "undici";

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

export interface AttachmentSummary {
  id: string;
  status: string;
  instance: string | null;
  volume_id: string;
}

export class CinderAdmin {
  constructor(
    readonly url: string,
    readonly project: string,
    /** microversion it asks for */
    readonly version = "3.70",
    /** a Cinder behind Keystone: the tokens to send instead of noauth's and X-Service-Roles */
    readonly keystone?: { token: string; serviceToken: string },
  ) {}

  private serviceHeaders(): Record<string, string> {
    return this.keystone ? { "X-Service-Token": this.keystone.serviceToken } : { "X-Service-Roles": "service" };
  }

  async raw(method: string, path: string, opts: { body?: unknown; bodyText?: string; headers?: Record<string, string>; project?: string } = {}): Promise<RawReply> {
    const project = opts.project ?? this.project;
    const headers: Record<string, string> = {
      "X-Auth-Token": this.keystone?.token ?? `admin:${project}`,
      "OpenStack-API-Version": `volume ${this.version}`,
      ...opts.headers,
    };
    const text = opts.bodyText ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
    if (text !== undefined) headers["Content-Type"] ??= "application/json";
    const res = await request(`${this.url}${path}`, { method: method as "GET", headers, body: text, headersTimeout: 20_000, bodyTimeout: 20_000 });
    const raw = await res.body.text();
    let body: unknown = raw;
    try {
      body = raw === "" ? null : JSON.parse(raw);
    } catch {
      // not JSON (HTML 404s): keep the text
    }
    return { status: res.statusCode, headers: res.headers, body };
  }

  /** A new volume, waited for until `available`, bootable unless asked otherwise. */
  async createVolume(opts: { bootable?: boolean; project?: string; name?: string; multiattach?: boolean; volumeType?: string } = {}): Promise<string> {
    const project = opts.project ?? this.project;
    const created = await this.raw("POST", `/v3/${project}/volumes`, {
      project,
      body: {
        volume: {
          size: 1,
          name: opts.name ?? "sanboot-contract",
          ...(opts.multiattach ? { multiattach: true } : {}),
          ...(opts.volumeType ? { volume_type: opts.volumeType } : {}),
        },
      },
    });
    if (created.status !== 202) throw new Error(`volume create answered ${created.status}: ${JSON.stringify(created.body)}`);
    const id: string = created.body.volume.id;
    await this.waitForStatus(id, "available", project);
    if (opts.bootable ?? true) {
      const r = await this.raw("POST", `/v3/${project}/volumes/${id}/action`, { project, body: { "os-set_bootable": { bootable: true } } });
      if (r.status !== 200) throw new Error(`os-set_bootable answered ${r.status}`);
    }
    return id;
  }

  async volume(id: string, project = this.project): Promise<any> {
    const r = await this.raw("GET", `/v3/${project}/volumes/${id}`, { project });
    if (r.status !== 200) throw new Error(`GET volume ${id} answered ${r.status}: ${JSON.stringify(r.body)}`);
    return r.body.volume;
  }

  async waitForStatus(id: string, status: string, project = this.project, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      last = (await this.volume(id, project)).status;
      if (last === status) return;
      if (last.startsWith("error")) throw new Error(`volume ${id} went to '${last}' (a real Cinder: volume group full?)`);
      await sleep(100);
    }
    throw new Error(`volume ${id} still '${last}', not '${status}', after ${timeoutMs} ms`);
  }

  /** below 3.27 Cinder has no attachments API: only the volume's list of completed attachments */
  get hasAttachmentsApi(): boolean {
    const [major, minor] = this.version.split(".").map(Number);
    return major! > 3 || minor! >= 27;
  }

  /**
   * The volume's attachments, whatever their status; on a Cinder without the attachments API the
   * completed ones, from the volume, in the same shape (a legacy reservation shows only as the
   * volume's `attaching` status).
   */
  async attachments(volumeId: string, project = this.project): Promise<AttachmentSummary[]> {
    if (!this.hasAttachmentsApi) {
      const vol = await this.volume(volumeId, project);
      return (vol.attachments as Array<{ attachment_id: string; server_id: string | null }>).map((a) => ({
        id: a.attachment_id,
        status: "attached",
        instance: a.server_id,
        volume_id: volumeId,
      }));
    }
    const r = await this.raw("GET", `/v3/${project}/attachments?volume_id=${volumeId}`, { project });
    if (r.status !== 200) throw new Error(`attachments list answered ${r.status}`);
    return r.body.attachments;
  }

  /** A legacy volume action, e.g. {"os-reserve": null}. */
  async action(volumeId: string, body: unknown, opts: { service?: boolean; project?: string } = {}): Promise<RawReply> {
    const project = opts.project ?? this.project;
    return this.raw("POST", `/v3/${project}/volumes/${volumeId}/action`, {
      project,
      body,
      ...(opts.service ? { headers: this.serviceHeaders() } : {}),
    });
  }

  async createAttachment(volumeId: string, instanceUuid: string, connector?: Record<string, unknown>): Promise<RawReply> {
    return this.raw("POST", `/v3/${this.project}/attachments`, {
      body: { attachment: { volume_uuid: volumeId, instance_uuid: instanceUuid, ...(connector ? { connector } : {}) } },
    });
  }

  /**
   * A cleanup call, sent again while Cinder answers 5xx: the lab's Cinder keeps its database in
   * SQLite, which answers "database is locked" (a 500) now and then once a second cinder-api
   * (the Keystone lab's) writes to it too.
   */
  private async untilAnswered(send: () => Promise<RawReply>, attempts = 5): Promise<RawReply> {
    let reply = await send();
    for (let i = 1; i < attempts && reply.status >= 500; i++) {
      await sleep(250 * i);
      reply = await send();
    }
    return reply;
  }

  /** Deletes every attachment of the volume (as a service), undoes a reservation, waits until it is available. */
  async clearAttachments(id: string, project = this.project): Promise<void> {
    for (const a of await this.attachments(id, project)) {
      if (this.hasAttachmentsApi) {
        await this.untilAnswered(() => this.raw("DELETE", `/v3/${project}/attachments/${a.id}`, { project, headers: this.serviceHeaders() }));
      } else {
        await this.untilAnswered(() => this.action(id, { "os-detach": { attachment_id: a.id } }, { service: true, project }));
      }
    }
    const status = (await this.volume(id, project)).status;
    if (status === "attaching") await this.action(id, { "os-unreserve": null }, { project });
    if (status === "detaching") await this.action(id, { "os-roll_detaching": null }, { project });
    await this.waitForStatus(id, "available", project, 20_000);
  }

  /** Removes every attachment, then the volume; for afterAll. */
  async destroyVolume(id: string, project = this.project): Promise<void> {
    await this.clearAttachments(id, project).catch(() => undefined);
    await this.raw("DELETE", `/v3/${project}/volumes/${id}`, { project });
  }

  /**
   * Nothing of ours left: no attachment at all (every test starts from none) and the volume
   * `available` (a real Cinder may take a moment to get there after the last delete).
   */
  async expectNothingLeft(id: string, project = this.project): Promise<void> {
    const left = await this.attachments(id, project);
    if (left.length > 0) throw new Error(`volume ${id} still has attachments: ${JSON.stringify(left)}`);
    await this.waitForStatus(id, "available", project, 15_000);
  }

  /** Emulator (or fault proxy) only: arm a one-shot fault (see lab/cinder-emulator/fault-switch.ts). */
  async failNext(rule: Record<string, unknown>): Promise<void> {
    const r = await request(`${this.url}/_lab/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ fail_next: rule }),
    });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`arming a fault answered ${r.statusCode}`);
  }
}
