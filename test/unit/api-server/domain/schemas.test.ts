import { readFileSync } from 'node:fs';
import {
  imageSchemaSpec,
  isSchemaName,
  schemaDocument,
  SCHEMA_NAMES,
} from '../../../../api-server/src/domain/schemas.js';
import { DEFAULT_DOMAIN_CONFIG } from '../../../../api-server/src/domain/types.js';

// The fixtures are what upstream glance 25.1 (Debian) serves, dumped from its own schemas controller with
// default options (and, for *-strict-*, allow_additional_image_properties=False and custom formats).
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8'));
const debianCustomProperties = fixture('debian-schema-image.json') as Record<string, never>;

// JSON.stringify keeps key order, so equal strings mean the same document in the same order.
const sameJson = (a: unknown, b: unknown) => expect(JSON.stringify(a)).toBe(JSON.stringify(b));

describe('schemaDocument', () => {
  const cfg = { ...DEFAULT_DOMAIN_CONFIG, customImageProperties: debianCustomProperties };

  it.each(SCHEMA_NAMES)('serves %s exactly as upstream does', (name) => {
    sameJson(
      schemaDocument(name, cfg),
      fixture(`upstream-schemas/${name.replace('metadefs/', 'metadef_')}.json`),
    );
  });

  it('builds the image schemas from the configured formats without extra properties when they are disallowed', () => {
    const strict = {
      ...DEFAULT_DOMAIN_CONFIG,
      diskFormats: ['raw', 'qcow2'],
      containerFormats: ['bare'],
      allowAdditionalImageProperties: false,
    };
    sameJson(schemaDocument('image', strict), fixture('upstream-schemas/image-strict-raw-qcow2.json'));
    sameJson(schemaDocument('images', strict), fixture('upstream-schemas/images-strict-raw-qcow2.json'));
  });

  it('marks schema-image.json properties as not base ones', () => {
    const doc = schemaDocument('image', cfg) as { properties: Record<string, Record<string, unknown>> };
    expect(doc.properties.kernel_id?.is_base).toBe(false);
    expect(doc.properties.name?.is_base).toBeUndefined();
  });

  it('refuses a schema-image.json that redefines a base property, as upstream fails to start', () => {
    expect(() =>
      imageSchemaSpec({ ...DEFAULT_DOMAIN_CONFIG, customImageProperties: { name: { type: 'string' } } }),
    ).toThrow('custom properties (name) conflict with base properties');
  });

  it('knows which names are schemas', () => {
    expect(isSchemaName('metadefs/tags')).toBe(true);
    expect(isSchemaName('metadefs')).toBe(false);
  });
});
