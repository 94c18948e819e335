// Builds the CustomResourceDefinitions from the TypeBox schemas, so the API
// server enforces exactly the types the operator is written against.
import type { TSchema } from '@sinclair/typebox';
import { toOpenApi } from './shared/schema.ts';
import { ALL_KINDS, type KindInfo } from './kinds.ts';

export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1';
  kind: 'CustomResourceDefinition';
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The object's schema with `metadata` left to the API server (it rejects anything richer). */
function openApiSchema(schema: TSchema): Record<string, unknown> {
  const s = toOpenApi(schema) as { properties: Record<string, unknown>; required?: string[] };
  s.properties.metadata = { type: 'object' };
  // apiVersion and kind are the API server's to check, not the schema's.
  s.required = s.required?.filter((r) => r !== 'apiVersion' && r !== 'kind');
  return s;
}

export function buildCrd(k: KindInfo): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${k.group}`, labels: { 'app.kubernetes.io/name': 'kubedb', 'app.kubernetes.io/managed-by': 'pgtls' } },
    spec: {
      group: k.group,
      scope: k.scope,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.singular, ...(k.shortNames.length ? { shortNames: k.shortNames } : {}), categories: k.categories },
      versions: [
        {
          name: k.version,
          served: true,
          storage: true,
          ...(k.statusSubresource ? { subresources: { status: {} } } : {}),
          additionalPrinterColumns: k.printerColumns,
          schema: { openAPIV3Schema: openApiSchema(k.schema) },
        },
      ],
    },
  };
}

export function buildCrds(): CustomResourceDefinition[] {
  return ALL_KINDS.map(buildCrd);
}
