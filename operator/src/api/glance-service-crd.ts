import { stringify } from 'yaml';
import {
  GROUP,
  GLANCE_SERVICE_KIND,
  GLANCE_SERVICE_PLURAL,
  GLANCE_SERVICE_SHORT_NAMES,
  GLANCE_SERVICE_SINGULAR,
  VERSION,
  glanceServiceSpec,
  glanceServiceStatus,
} from './glance-service-types.js';
import { toStructuralSchema } from './structural-schema.js';

export const CRD_NAME = `${GLANCE_SERVICE_PLURAL}.${GROUP}`;
/** Where `npm run gen:crds` writes the CRD, relative to the repository root. */
export const CRD_FILE = `crds/${CRD_NAME}.yaml`;

const readyColumn = (field: string) => `.status.conditions[?(@.type=="Ready")].${field}`;

export function glanceServiceCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: CRD_NAME },
    spec: {
      group: GROUP,
      names: {
        kind: GLANCE_SERVICE_KIND,
        listKind: `${GLANCE_SERVICE_KIND}List`,
        plural: GLANCE_SERVICE_PLURAL,
        singular: GLANCE_SERVICE_SINGULAR,
        shortNames: GLANCE_SERVICE_SHORT_NAMES,
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Ready', type: 'string', jsonPath: readyColumn('status') },
            { name: 'Reason', type: 'string', jsonPath: readyColumn('reason') },
            { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
            { name: 'Available', type: 'integer', jsonPath: '.status.readyReplicas' },
            { name: 'Region', type: 'string', jsonPath: '.spec.keystone.region', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description:
                'The Glance image service: its database, Keystone registration, Ceph access and API.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: toStructuralSchema(glanceServiceSpec),
                status: toStructuralSchema(glanceServiceStatus),
              },
            },
          },
        },
      ],
    },
  };
}

const HEADER = '# Generated from operator/src/api/ by `npm run gen:crds`. Do not edit.\n';

export function renderCrdYaml(): string {
  return HEADER + stringify(glanceServiceCrd(), { lineWidth: 0 });
}
