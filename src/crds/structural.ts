// Turns a zod schema into the structural OpenAPI v3 schema a CustomResourceDefinition needs.
//
// zod's own JSON Schema output is the starting point; this module then rewrites the few shapes the
// apiserver reads differently (int-or-string unions, free-form objects, pattern messages) and
// refuses everything a structural schema cannot hold, so a schema that would be rejected at
// `kubectl apply -f crd.yaml` fails here, at generation time, with the path of the bad node.
import { z } from 'zod';

/** One `x-kubernetes-validations` entry. */
export interface ValidationRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  fieldPath?: string;
  /** FieldValueDuplicate makes the apiserver drop the message: use it only where none is needed. */
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  optionalOldSelf?: boolean;
}

/** A node of an OpenAPI v3 schema as the apiserver stores it (JSONSchemaProps). */
export type SchemaProps = Record<string, unknown>;

/**
 * Metadata key read by this module only: a string schema that carries it has its `pattern` turned
 * into a CEL rule with this text as the message, so the refusal explains the format in words
 * instead of quoting a regular expression.
 */
export const PATTERN_MESSAGE = 'x-pubsub-pattern-message';

/** Metadata for `.meta()`: a description and, optionally, CEL rules. */
export function doc(description: string, ...rules: ValidationRule[]): Record<string, unknown> {
  return rules.length > 0 ? { description, 'x-kubernetes-validations': rules } : { description };
}

/** A CEL string literal holding `text`. */
export function celString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

// The keys a structural schema may use, in the order they are written out.
const KEY_ORDER = [
  'description',
  'type',
  'format',
  'enum',
  'default',
  'minimum',
  'exclusiveMinimum',
  'maximum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'anyOf',
  'items',
  'properties',
  'additionalProperties',
  'required',
  'x-kubernetes-int-or-string',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-validations',
] as const;
const ALLOWED = new Set<string>(KEY_ORDER);
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export interface StructuralOptions {
  /**
   * Demand a bound on every string (maxLength, enum or format), list (maxItems) and map
   * (maxProperties), so the apiserver's CEL cost estimate holds for any rule that walks them.
   */
  bounded?: boolean;
}

/** The structural OpenAPI v3 schema for `schema`, read as the input type (defaults optional). */
export function toStructuralSchema(schema: z.ZodType, options: StructuralOptions = {}): SchemaProps {
  const json = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io: 'input',
    reused: 'inline',
    cycles: 'throw',
    unrepresentable: 'throw',
    override: ({ zodSchema, path }) => {
      // The OpenAPI 3.0 output drops a record's key schema without a word; refuse instead.
      const def = zodSchema._zod.def;
      if (
        def.type === 'record' &&
        (def.keyType._zod.def.type !== 'string' || def.keyType._zod.def.checks?.length)
      ) {
        fail(
          path.join('.'),
          'map key constraints cannot be expressed structurally; check the keys with a CEL rule',
        );
      }
    },
  }) as SchemaProps;
  delete json['$schema'];
  return normalize(json, '', options);
}

function isObject(value: unknown): value is SchemaProps {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fail(path: string, problem: string): never {
  throw new Error(`${path || '<root>'}: ${problem}`);
}

function normalize(input: SchemaProps, path: string, options: StructuralOptions): SchemaProps {
  let node: SchemaProps = { ...input };
  if (node['anyOf'] !== undefined || node['oneOf'] !== undefined) node = intOrString(node, path);

  if (node['type'] === 'integer') {
    if (node['minimum'] === -MAX_SAFE) delete node['minimum'];
    if (node['maximum'] === MAX_SAFE) delete node['maximum'];
  }
  if (node['format'] === 'date-time') delete node['pattern'];

  const patternMessage = node[PATTERN_MESSAGE];
  if (patternMessage !== undefined) {
    if (typeof node['pattern'] !== 'string' || typeof patternMessage !== 'string') {
      fail(path, `${PATTERN_MESSAGE} needs a string pattern`);
    }
    // JavaScript writes '/' as '\/' in a regular expression's source; RE2 needs no escape there.
    const matches = `self.matches(${celString(node['pattern'].replace(/\\\//g, '/'))})`;
    const rule = node['x-kubernetes-int-or-string'] === true ? `type(self) != string || ${matches}` : matches;
    const existing = (node['x-kubernetes-validations'] as ValidationRule[] | undefined) ?? [];
    node['x-kubernetes-validations'] = [{ rule, message: patternMessage }, ...existing];
    delete node['pattern'];
    delete node[PATTERN_MESSAGE];
  }

  if (node['type'] === 'object') normalizeObject(node, path, options);
  if (node['type'] === 'array') {
    if (!isObject(node['items'])) fail(path, 'an array needs an items schema');
    node['items'] = normalize(node['items'], `${path}[*]`, options);
    if (options.bounded && node['maxItems'] === undefined) fail(path, 'list without maxItems');
  }
  if (options.bounded && node['type'] === 'string' && node['maxLength'] === undefined) {
    if (node['enum'] === undefined && node['format'] === undefined) fail(path, 'string without maxLength');
  }
  if (node['x-kubernetes-int-or-string'] === true && options.bounded && node['maxLength'] === undefined) {
    fail(path, 'int-or-string without maxLength for its string form');
  }

  for (const key of Object.keys(node)) {
    if (!ALLOWED.has(key)) fail(path, `'${key}' has no place in a structural schema`);
  }
  if (node['type'] === undefined && node['x-kubernetes-int-or-string'] !== true) {
    fail(path, 'every node needs a type');
  }
  return ordered(node);
}

// zod writes `z.union([z.int(), z.string()])` as anyOf; the apiserver wants x-kubernetes-int-or-string
// with the constraints of both branches at the top.
function intOrString(node: SchemaProps, path: string): SchemaProps {
  const branches = node['anyOf'] ?? node['oneOf'];
  if (!Array.isArray(branches) || branches.length !== 2)
    fail(path, 'only int-or-string unions are supported');
  const integer = branches.find((b): b is SchemaProps => isObject(b) && b['type'] === 'integer');
  const string = branches.find((b): b is SchemaProps => isObject(b) && b['type'] === 'string');
  if (!integer || !string) fail(path, 'only int-or-string unions are supported');
  const out: SchemaProps = { ...node };
  delete out['anyOf'];
  delete out['oneOf'];
  for (const [key, value] of Object.entries(integer)) {
    if (key === 'type') continue;
    if ((key === 'minimum' && value === -MAX_SAFE) || (key === 'maximum' && value === MAX_SAFE)) continue;
    if (key !== 'minimum' && key !== 'maximum') fail(path, `integer branch: '${key}' is not supported`);
    out[key] = value;
  }
  for (const [key, value] of Object.entries(string)) {
    if (key === 'type') continue;
    if (!['minLength', 'maxLength', 'pattern', PATTERN_MESSAGE].includes(key)) {
      fail(path, `string branch: '${key}' is not supported`);
    }
    out[key] = value;
  }
  out['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  out['x-kubernetes-int-or-string'] = true;
  return out;
}

function normalizeObject(node: SchemaProps, path: string, options: StructuralOptions): void {
  if (node['propertyNames'] !== undefined) {
    fail(path, 'map key constraints cannot be expressed structurally; check the keys with a CEL rule');
  }
  const additional = node['additionalProperties'];
  if (additional === false) delete node['additionalProperties'];
  // z.record(z.string(), z.unknown()): an object whose content the apiserver keeps as written.
  if (additional === true || (isObject(additional) && Object.keys(additional).length === 0)) {
    delete node['additionalProperties'];
    node['x-kubernetes-preserve-unknown-fields'] = true;
  } else if (isObject(additional)) {
    if (node['properties'] !== undefined) fail(path, 'an object is either a map or has properties');
    node['additionalProperties'] = normalize(additional, `${path}[*]`, options);
    if (options.bounded && node['maxProperties'] === undefined) fail(path, 'map without maxProperties');
  }
  const properties = node['properties'];
  if (isObject(properties)) {
    const out: SchemaProps = {};
    for (const [name, child] of Object.entries(properties)) {
      const childPath = path ? `${path}.${name}` : name;
      if (!isObject(child)) fail(childPath, 'not a schema');
      if (typeof child['description'] !== 'string' || child['description'].trim() === '') {
        fail(childPath, 'every field needs a description');
      }
      out[name] = normalize(child, childPath, options);
    }
    node['properties'] = out;
  }
  if (Array.isArray(node['required']) && node['required'].length === 0) delete node['required'];
}

function ordered(node: SchemaProps): SchemaProps {
  const out: SchemaProps = {};
  for (const key of KEY_ORDER) if (node[key] !== undefined) out[key] = node[key];
  return out;
}
