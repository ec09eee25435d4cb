import { stringify } from 'yaml';
import { GROUP, VERSION } from './glance-service-types.js';
import {
  IMAGE_KIND,
  IMAGE_PLURAL,
  IMAGE_SHORT_NAMES,
  IMAGE_SINGULAR,
  imageSpec,
  imageStatus,
} from './image-types.js';
import { toStructuralSchema, type StructuralSchema } from './structural-schema.js';

export const IMAGE_CRD_NAME = `${IMAGE_PLURAL}.${GROUP}`;
/** Where `npm run gen:crds` writes the CRD, relative to the repository root. */
export const IMAGE_CRD_FILE = `crds/${IMAGE_CRD_NAME}.yaml`;

interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
}
type WithRules = StructuralSchema & { 'x-kubernetes-validations'?: CelRule[] };

/**
 * The cross-field rules of image-types.ts, as CEL, so that the API server refuses them at apply time. They
 * repeat the zod refinements, which stay: an object stored before a rule existed is still reported.
 */
const SPEC_RULES: CelRule[] = [
  {
    rule: 'has(self.glanceServiceRef) != has(self.cloud)',
    message: 'set exactly one of glanceServiceRef and cloud',
  },
  {
    rule: '!has(self.adopt) || has(self.adopt.imageID) != has(self.adopt.byName)',
    message: 'adopt: set exactly one of imageID and byName',
  },
];
const SOURCE_RULES: CelRule[] = [
  {
    rule: '!(has(self.checksum) && has(self.checksumURL))',
    message: 'set checksum or checksumURL, not both',
  },
  {
    rule:
      "!has(self.importMethod) || self.importMethod != 'WebDownload' || (!has(self.checksum) && " +
      "!has(self.checksumURL) && has(self.decompress) && self.decompress == 'none' && " +
      '!has(self.headersSecretRef) && !has(self.basicAuthSecretRef) && !has(self.caBundleRef) && !has(self.proxy))',
    message: 'WebDownload cannot verify a checksum, decompress, or use credentials, a CA or a proxy',
  },
];

function specSchema(): WithRules {
  const spec: WithRules = { ...toStructuralSchema(imageSpec), 'x-kubernetes-validations': SPEC_RULES };
  const source = spec.properties?.source;
  if (!source || !spec.properties) throw new Error('the Image spec has no source');
  spec.properties = {
    ...spec.properties,
    source: { ...source, 'x-kubernetes-validations': SOURCE_RULES } as WithRules,
  };
  return spec;
}

export function imageCrd() {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: IMAGE_CRD_NAME },
    spec: {
      group: GROUP,
      names: {
        kind: IMAGE_KIND,
        listKind: `${IMAGE_KIND}List`,
        plural: IMAGE_PLURAL,
        singular: IMAGE_SINGULAR,
        shortNames: IMAGE_SHORT_NAMES,
        categories: ['glance'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Progress', type: 'integer', jsonPath: '.status.progress.percent' },
            { name: 'Size', type: 'integer', jsonPath: '.status.size' },
            { name: 'Image ID', type: 'string', jsonPath: '.status.imageID' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
            { name: 'Source', type: 'string', jsonPath: '.spec.source.url', priority: 1 },
            { name: 'Error', type: 'string', jsonPath: '.status.lastError', priority: 1 },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'A Glance image uploaded from a URL and kept as declared.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: specSchema(),
                status: toStructuralSchema(imageStatus),
              },
            },
          },
        },
      ],
    },
  };
}

const HEADER = '# Generated from operator/src/api/ by `npm run gen:crds`. Do not edit.\n';

export function renderImageCrdYaml(): string {
  return HEADER + stringify(imageCrd(), { lineWidth: 0 });
}
