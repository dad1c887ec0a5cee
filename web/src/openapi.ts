// What the service allows, read from its OpenAPI document so the forms never drift from it:
// the paste syntax allowlist and the expiry limits.

export interface ServiceLimits {
  syntaxes: string[];
  expiresMin: number | null;
  expiresMax: number | null;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

let cached: Promise<ServiceLimits> | null = null;

export function serviceLimits(): Promise<ServiceLimits> {
  cached ??= load().catch(() => {
    cached = null; // try again on the next form
    return { syntaxes: [], expiresMin: null, expiresMax: null };
  });
  return cached;
}

async function load(): Promise<ServiceLimits> {
  const response = await fetch("/openapi.json", { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`openapi.json: HTTP ${response.status}`);
  const document = (await response.json()) as Json;
  const syntax = findProperty(document, "syntax");
  const expires = findProperty(document, "expires_in");
  return {
    syntaxes: stringEnum(syntax),
    expiresMin: numberField(expires, "minimum"),
    expiresMax: numberField(expires, "maximum"),
  };
}

/** The first schema of a property with this name anywhere in the document (refs included). */
function findProperty(node: Json, name: string): Json {
  if (Array.isArray(node)) {
    for (const child of node) {
      const found = findProperty(child, name);
      if (found !== null) return found;
    }
    return null;
  }
  if (node && typeof node === "object") {
    const properties = node.properties;
    if (
      properties &&
      typeof properties === "object" &&
      !Array.isArray(properties) &&
      name in properties
    ) {
      return properties[name] ?? null;
    }
    for (const child of Object.values(node)) {
      const found = findProperty(child, name);
      if (found !== null) return found;
    }
  }
  return null;
}

/** Enum values of a schema, looking through anyOf/oneOf (nullable fields) too. */
function stringEnum(schema: Json): string[] {
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return [];
  if (Array.isArray(schema.enum))
    return schema.enum.filter((value): value is string => typeof value === "string");
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const options = schema[key];
    if (Array.isArray(options)) {
      const values = options.flatMap(stringEnum);
      if (values.length) return values;
    }
  }
  return [];
}

function numberField(schema: Json, field: string): number | null {
  if (!schema || typeof schema !== "object" || Array.isArray(schema)) return null;
  const value = schema[field];
  if (typeof value === "number") return value;
  for (const key of ["anyOf", "oneOf", "allOf"]) {
    const options = schema[key];
    if (Array.isArray(options)) {
      for (const option of options) {
        const found = numberField(option, field);
        if (found !== null) return found;
      }
    }
  }
  return null;
}
