// Builds a CustomResourceDefinition object from a kind's zod schemas and naming.
import type { z } from 'zod';
import { CATEGORY, GROUP, VERSION } from './common.ts';
import { toStructuralSchema, type SchemaProps } from './structural.ts';

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description: string;
  priority?: number;
}

/** Everything that makes one kind's CRD, apart from the group and version every kind shares. */
export interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  /** The spec schema; an object without spec is refused unless this schema has a default. */
  spec: z.ZodType;
  status: z.ZodType;
  /** Ready and Synced first, then these, then Age. */
  printerColumns: PrinterColumn[];
}

/** The parts of a kind's resource schema (see resourceSchema) that its CRD is made from. */
interface ResourceShape {
  shape: { kind: z.ZodLiteral<string>; spec: z.ZodType; status: z.ZodOptional<z.ZodType> };
}

/**
 * A kind's definition from its resource schema: the names follow the kind, spec and status come
 * from the schema, and every kind gets the Ready, Synced and Age columns.
 */
export function defineKind(
  resource: ResourceShape,
  options: { shortName: string; description: string; readyMeans: string; columns: PrinterColumn[] },
): KindDefinition {
  const kind = resource.shape.kind.value;
  return {
    kind,
    plural: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    shortNames: [options.shortName],
    description: options.description,
    spec: resource.shape.spec,
    status: resource.shape.status.unwrap(),
    printerColumns: [
      conditionColumn('Ready', options.readyMeans),
      conditionColumn('Synced', 'Whether the last reconcile succeeded.'),
      ...options.columns,
      conditionColumn(
        'Paused',
        'True while the object carries the annotation pubsub.ecommerce.io/paused: "true" and the operator leaves it alone.',
        1,
      ),
      {
        name: 'Age',
        type: 'date',
        jsonPath: '.metadata.creationTimestamp',
        description: 'Time since the object was created.',
      },
    ],
  };
}

/** Printer column showing the status of the condition of `type`. */
function conditionColumn(type: string, description: string, priority?: number): PrinterColumn {
  return {
    name: type,
    type: 'string',
    jsonPath: `.status.conditions[?(@.type=="${type}")].status`,
    description,
    ...(priority !== undefined ? { priority } : {}),
  };
}

export function crdName(def: KindDefinition): string {
  return `${def.plural}.${GROUP}`;
}

export function buildCrd(def: KindDefinition): Record<string, unknown> {
  const spec = toStructuralSchema(def.spec, { bounded: true });
  const status = toStructuralSchema(def.status);
  const openAPIV3Schema: SchemaProps = {
    description: def.description,
    type: 'object',
    properties: {
      apiVersion: {
        description: `API group and version of this object: ${GROUP}/${VERSION}.`,
        type: 'string',
      },
      kind: {
        description: `Kind of this object: ${def.kind}.`,
        type: 'string',
      },
      metadata: { type: 'object' },
      spec,
      status,
    },
    ...(spec['default'] === undefined ? { required: ['spec'] } : {}),
  };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName(def) },
    spec: {
      group: GROUP,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: [CATEGORY],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.printerColumns,
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
}
