// Comparing desired and actual SQS/SNS attributes the way AWS stores them, so that a difference of
// form alone (a number sent as 30 and read back as "30", JSON keys in another order) never causes
// an update on every reconcile.

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A desired attribute: strings as AWS takes them, numbers, booleans, or JSON for JSON attributes. */
export type AttributeValue = string | number | boolean | { [key: string]: JsonValue } | JsonValue[];
export type DesiredAttributes = Readonly<Record<string, AttributeValue | undefined>>;
export type Attributes = Record<string, string>;

/** Attributes whose value is a JSON document. */
export const JSON_ATTRIBUTES: ReadonlySet<string> = new Set([
  'Policy',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'FilterPolicy',
  'DeliveryPolicy',
  'EffectiveDeliveryPolicy',
  'ArchivePolicy',
  'DataProtectionPolicy',
  'ReplayPolicy',
]);

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort())
      sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/**
 * JSON with the keys of every object sorted, recursively, and no whitespace; array order is kept
 * (it can matter). A string is parsed first, so `canonicalJson('{"b":1,"a":2}')` and
 * `canonicalJson({ a: 2, b: 1 })` are both `{"a":2,"b":1}`. A string that is not JSON is returned
 * unchanged.
 */
export function canonicalJson(value: unknown): string {
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value) as unknown;
    } catch {
      return value;
    }
  }
  return JSON.stringify(sortKeys(parsed)) ?? '';
}

/** One attribute as the string AWS takes: JSON attributes canonical, booleans lower case. */
export function attributeString(name: string, value: AttributeValue): string {
  if (typeof value === 'string')
    return JSON_ATTRIBUTES.has(name) && value !== '' ? canonicalJson(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return canonicalJson(value);
}

/** Desired attributes as the strings AWS takes (for create calls); undefined entries dropped. */
export function normalizeAttributes(desired: DesiredAttributes): Attributes {
  const out: Attributes = {};
  for (const [name, value] of Object.entries(desired))
    if (value !== undefined) out[name] = attributeString(name, value);
  return out;
}

const NUMBER = /^-?\d+(\.\d+)?$/;

/** SQS takes `maxReceiveCount` as "3" or 3 and reports a number; compare it as one. */
function numericReceiveCount(value: string): unknown {
  try {
    const policy = JSON.parse(value) as unknown;
    if (policy !== null && typeof policy === 'object' && !Array.isArray(policy)) {
      const count = (policy as Record<string, unknown>)['maxReceiveCount'];
      if (typeof count === 'string' && NUMBER.test(count))
        return { ...policy, maxReceiveCount: Number(count) };
    }
    return policy;
  } catch {
    return value;
  }
}

/** The form two values are compared in: equal forms mean AWS already has what is wanted. */
function comparable(name: string, value: string | undefined): string {
  if (value === undefined || value === '') return '';
  if (JSON_ATTRIBUTES.has(name)) {
    const json = canonicalJson(name === 'RedrivePolicy' ? numericReceiveCount(value) : value);
    // An empty document is what AWS reports (or omits) once a JSON attribute is cleared.
    return json === '{}' ? '' : json;
  }
  if (NUMBER.test(value)) return String(Number(value));
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === 'false') return lower;
  return value;
}

/**
 * The attributes to send so `actual` matches `desired`: only names in `desired` are considered (AWS
 * reports many more), numbers compare by value, booleans without case, JSON attributes as canonical
 * JSON, and an empty string (AWS's way of clearing an attribute) equals an absent attribute.
 * An empty result means nothing to update and no call to make.
 */
export function attributeDelta(
  desired: DesiredAttributes,
  actual: Readonly<Record<string, string>>,
): Attributes {
  const delta: Attributes = {};
  for (const [name, value] of Object.entries(desired)) {
    if (value === undefined) continue;
    const wanted = attributeString(name, value);
    if (comparable(name, wanted) !== comparable(name, actual[name])) delta[name] = wanted;
  }
  return delta;
}
