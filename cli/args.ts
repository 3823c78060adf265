/** What every command's flags come to: the parsed values, and the error that means exit 2. */

/** A usage problem, found before any call to the service: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {}

export type Values = Record<string, string | boolean | string[] | undefined>;

export const str = (v: Values, k: string) => (typeof v[k] === "string" ? (v[k] as string) : undefined);

/** A flag given with `multiple: true`: every value, in order (none: empty). */
export const all = (v: Values, k: string): string[] => (Array.isArray(v[k]) ? (v[k] as string[]) : typeof v[k] === "string" ? [v[k] as string] : []);
