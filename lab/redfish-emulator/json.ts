/** Shapes of PATCH bodies every validator asks about. */

/** `@odata.*`, `@Redfish.*` and `Property@Annotation` keys: annotations, never properties. */
export const isAnnotation = (k: string) => k.startsWith("@") || k.includes("@");

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
