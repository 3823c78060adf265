/**
 * Microversions: parsing the `OpenStack-API-Version: volume X.Y` request header, the version
 * documents of `GET /` and `GET /v3/`, and the minimum versions of the features we emulate.
 */
import { CinderFault, faults } from "./cinder-fault";

export interface Version {
  major: number;
  minor: number;
}

export const MIN_VERSION: Version = { major: 3, minor: 0 };
export const MAX_VERSION: Version = { major: 3, minor: 70 };

/** Where a feature starts (cinder/api/microversions.py). */
export const FEATURE = {
  groups: v(3, 13),
  providerId: v(3, 21),
  attachments: v(3, 27),
  attachComplete: v(3, 44),
  sharedTargets: v(3, 48),
  attachMode: v(3, 54),
  clusterName: v(3, 61),
  volumeTypeId: v(3, 63),
  consumesQuota: v(3, 65),
} as const;

function v(major: number, minor: number): Version {
  return { major, minor };
}

export function parseVersion(text: string): Version | null {
  const m = /^([1-9]\d*)\.(0|[1-9]\d*)$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function formatVersion(ver: Version): string {
  return `${ver.major}.${ver.minor}`;
}

export function compare(a: Version, b: Version): number {
  return a.major !== b.major ? a.major - b.major : a.minor - b.minor;
}

export function atLeast(ver: Version, min: Version): boolean {
  return compare(ver, min) >= 0;
}

/**
 * The version a request asks for. No header (or a header for another service) means the
 * minimum, 3.0; `latest` means our maximum; anything outside [min, max] is a 406.
 */
export function requestedVersion(header: string | undefined, max: Version): Version {
  if (!header) return MIN_VERSION;
  const ours = header
    .split(",")
    .map((part) => part.trim().split(/\s+/))
    .find((words) => words.length === 2 && words[0]!.toLowerCase() === "volume");
  // a header for no service at all ("3.70") is refused, one for another service ignored
  if (!ours) {
    if (/^\s*[\d.]+\s*$|^\s*latest\s*$/i.test(header)) throw faults.cannotComply();
    return MIN_VERSION;
  }
  const text = ours[1]!;
  if (text.toLowerCase() === "latest") return max;
  const ver = parseVersion(text);
  if (!ver) {
    throw new CinderFault(400, `API Version String ${text} is of invalid format. Must be of format MajorNum.MinorNum.`);
  }
  if (compare(ver, MIN_VERSION) < 0 || compare(ver, max) > 0) {
    throw new CinderFault(
      406,
      `Version ${formatVersion(ver)} is not supported by the API. Minimum is ${formatVersion(MIN_VERSION)} and maximum is ${formatVersion(max)}.`,
    );
  }
  return ver;
}

export function versionsDocument(baseUrl: string, max: Version): unknown {
  return {
    versions: [
      {
        id: "v3.0",
        status: "CURRENT",
        version: formatVersion(max),
        min_version: formatVersion(MIN_VERSION),
        updated: "2022-08-31T00:00:00Z",
        links: [
          { rel: "describedby", type: "text/html", href: "https://docs.openstack.org/" },
          { rel: "self", href: `${baseUrl}/v3/` },
        ],
        "media-types": [{ base: "application/json", type: "application/vnd.openstack.volume+json;version=3" }],
      },
    ],
  };
}
