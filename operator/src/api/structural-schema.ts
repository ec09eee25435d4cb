import { z } from 'zod';

/** The subset of JSON Schema a CRD's structural openAPIV3Schema uses. */
export interface StructuralSchema {
  type: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, StructuralSchema>;
  required?: string[];
  additionalProperties?: StructuralSchema;
  items?: StructuralSchema;
  enum?: unknown[];
  default?: unknown;
  pattern?: string;
  format?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  nullable?: boolean;
}

const KEPT = new Set([
  'type',
  'description',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'enum',
  'default',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'minLength',
  'maxLength',
  'minItems',
  'maxItems',
  'nullable',
]);

/**
 * Converts a zod schema to a Kubernetes structural schema: every node typed, no `additionalProperties: false`
 * (the API server prunes unknown fields itself), no combinators. Anything else zod emits is a construct the
 * CRD cannot carry, and fails generation instead of being dropped silently.
 */
export function toStructuralSchema(schema: z.ZodType): StructuralSchema {
  const json = z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input', unrepresentable: 'throw' });
  return clean(json as Record<string, unknown>, '');
}

function clean(node: Record<string, unknown>, path: string): StructuralSchema {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema') continue;
    if (key === 'additionalProperties' && value === false) continue;
    // zod bounds every integer by the safe-integer range; that says nothing to a reader of the CRD.
    if ((key === 'minimum' || key === 'maximum') && Math.abs(value as number) === Number.MAX_SAFE_INTEGER) {
      continue;
    }
    if (!KEPT.has(key)) throw new Error(`${path || '<root>'}: "${key}" has no place in a structural schema`);
    out[key] = value;
  }
  if (typeof out.type !== 'string') throw new Error(`${path || '<root>'}: every node needs a type`);
  if (out.properties) {
    out.properties = Object.fromEntries(
      Object.entries(out.properties as Record<string, Record<string, unknown>>).map(([k, v]) => [
        k,
        clean(v, `${path}.${k}`),
      ]),
    );
  }
  if (typeof out.additionalProperties === 'object') {
    out.additionalProperties = clean(out.additionalProperties as Record<string, unknown>, `${path}.*`);
  }
  if (out.items) out.items = clean(out.items as Record<string, unknown>, `${path}[]`);
  return out as unknown as StructuralSchema;
}
