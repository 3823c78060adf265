/**
 * The CloudWatch embedded-metric-format lines a process writes, read as CloudWatch Logs reads
 * them: Powertools writes each as one JSON line on stdout, so the capture sits on stdout itself
 * (every other line passes through), and each line is parsed into its samples, one per metric and
 * dimension set, with the dimension values the line carries.
 */
import { vi } from "vitest";

export interface EmfDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: Array<{ Name: string; Unit: string }>;
}

export interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: EmfDirective[] };
  [key: string]: unknown;
}

export interface Sample {
  namespace: string;
  name: string;
  unit: string;
  values: number[];
  /** the dimension set's values, e.g. {service: "sanboot", Step: "power_on"} */
  dimensions: Record<string, string>;
}

export function isEmfLine(v: unknown): v is EmfLine {
  return !!v && typeof v === "object" && Array.isArray((v as EmfLine)._aws?.CloudWatchMetrics);
}

/** Captures EMF lines from now on; `stop()` puts stdout back. */
export function captureEmf(): { lines: EmfLine[]; stop(): void } {
  const lines: EmfLine[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const spy = vi.spyOn(process.stdout, "write").mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
    const text = typeof chunk === "string" ? chunk : Buffer.isBuffer(chunk) ? chunk.toString("utf8") : "";
    const parsed = text
      .split("\n")
      .filter((l) => l.trim().startsWith("{"))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as unknown];
        } catch {
          return [];
        }
      });
    const emf = parsed.filter(isEmfLine);
    if (emf.length > 0) {
      lines.push(...emf);
      return true;
    }
    return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write);
  return { lines, stop: () => spy.mockRestore() };
}

/** Every sample of the lines: each metric once per dimension set of its directive. */
export function samplesOf(lines: readonly EmfLine[]): Sample[] {
  return lines.flatMap((line) =>
    line._aws.CloudWatchMetrics.flatMap((d) =>
      d.Metrics.flatMap((m) =>
        d.Dimensions.map((set) => ({
          namespace: d.Namespace,
          name: m.Name,
          unit: m.Unit,
          values: [line[m.Name]].flat() as number[],
          dimensions: Object.fromEntries(set.map((k) => [k, String(line[k])])),
        })),
      ),
    ),
  );
}

/** The samples of one metric, optionally only those whose dimensions include `where`. */
export function samplesNamed(samples: readonly Sample[], name: string, where: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.dimensions[k] === v));
}

/** The sum of a metric's values over samples with exactly these dimensions (besides service). */
export function sumOf(samples: readonly Sample[], name: string, dimensions: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && sameKeys(s.dimensions, dimensions) && Object.entries(dimensions).every(([k, v]) => s.dimensions[k] === v))
    .flatMap((s) => s.values)
    .reduce((a, b) => a + b, 0);
}

function sameKeys(got: Record<string, string>, want: Record<string, string>): boolean {
  const keys = Object.keys(got).filter((k) => k !== "service").sort();
  return JSON.stringify(keys) === JSON.stringify(Object.keys(want).sort());
}
