import type { JsonObject } from './json-schema.js';
import type { JsonValue } from './pyrepr.js';
import type { DomainConfig } from './types.js';

// The JSON documents upstream serves under /v2/schemas, built the way glance/schema.py builds them (key order
// included) from the same property tables as glance/api/v2/{images,image_members,tasks,metadef_*}.py.

export type ImageSchemaConfig = Pick<
  DomainConfig,
  'diskFormats' | 'containerFormats' | 'allowAdditionalImageProperties' | 'customImageProperties'
>;
type FormatConfig = Pick<DomainConfig, 'diskFormats' | 'containerFormats'>;

interface SchemaSpec {
  name: string;
  properties: JsonObject;
  links?: JsonObject[];
  required?: string[];
  definitions?: JsonObject;
  /** glance.schema.PermissiveSchema: extra properties are strings instead of forbidden. */
  permissive?: boolean;
}

function raw(spec: SchemaSpec, withDefinitions = true): JsonObject {
  const out: JsonObject = {
    name: spec.name,
    properties: spec.properties,
    additionalProperties: spec.permissive ? { type: 'string' } : false,
  };
  if (withDefinitions && spec.definitions) out.definitions = spec.definitions;
  if (spec.required?.length) out.required = spec.required;
  if (spec.links) out.links = spec.links;
  return out;
}

function minimal(spec: SchemaSpec, withDefinitions = true): JsonObject {
  const out: JsonObject = { name: spec.name, properties: spec.properties };
  if (withDefinitions && spec.definitions) out.definitions = spec.definitions;
  if (spec.required?.length) out.required = spec.required;
  return out;
}

const PAGED_LINKS: JsonObject[] = [
  { rel: 'first', href: '{first}' },
  { rel: 'next', href: '{next}' },
  { rel: 'describedby', href: '{schema}' },
];

// CollectionSchema / DictCollectionSchema hoist the item's definitions to the top level.
function collection(name: string, item: SchemaSpec, container: 'array' | 'object'): JsonObject {
  const itemSchema = raw(item, false);
  const holder: JsonObject =
    container === 'array'
      ? { type: 'array', items: itemSchema }
      : { type: 'object', additionalProperties: itemSchema };
  const out: JsonObject = {
    name,
    properties: {
      [name]: holder,
      first: { type: 'string' },
      next: { type: 'string' },
      schema: { type: 'string' },
    },
    links: PAGED_LINKS,
  };
  if (item.definitions) out.definitions = item.definitions;
  return out;
}

function minimalCollection(name: string, item: SchemaSpec): JsonObject {
  return {
    name,
    properties: { [name]: { type: 'array', items: minimal(item, false) }, schema: { type: 'string' } },
    links: [{ rel: 'describedby', href: '{schema}' }],
  };
}

const IMAGE_LINKS: JsonObject[] = [
  { rel: 'self', href: '{self}' },
  { rel: 'enclosure', href: '{file}' },
  { rel: 'describedby', href: '{schema}' },
];

/** The image schema upstream validates requests against and serves; throws if schema-image.json is unusable. */
export function imageSchemaSpec(cfg: ImageSchemaConfig): SchemaSpec {
  const properties = imageBaseProperties(cfg);
  const conflicts: string[] = [];
  for (const [name, custom] of Object.entries(cfg.customImageProperties)) {
    const merged: JsonObject = { ...custom, is_base: false };
    // Upstream marks custom properties before comparing, so any redefinition of a base property conflicts.
    if (Object.hasOwn(properties, name)) conflicts.push(name);
    else properties[name] = merged;
  }
  if (conflicts.length > 0) {
    throw new Error(
      `Unable to load schema: custom properties (${conflicts.join(', ')}) conflict with base properties`,
    );
  }
  return cfg.allowAdditionalImageProperties
    ? { name: 'image', properties, links: IMAGE_LINKS, permissive: true }
    : { name: 'image', properties };
}

/** The image schema as jsonschema sees it when validating a request body. */
export function imageValidationSchema(cfg: ImageSchemaConfig): JsonObject {
  return raw(imageSchemaSpec(cfg));
}

export const SCHEMA_NAMES = [
  'image',
  'images',
  'member',
  'members',
  'task',
  'tasks',
  'metadefs/namespace',
  'metadefs/namespaces',
  'metadefs/resource_type',
  'metadefs/resource_types',
  'metadefs/property',
  'metadefs/properties',
  'metadefs/object',
  'metadefs/objects',
  'metadefs/tag',
  'metadefs/tags',
] as const;
export type SchemaName = (typeof SCHEMA_NAMES)[number];

export function isSchemaName(name: string): name is SchemaName {
  return (SCHEMA_NAMES as readonly string[]).includes(name);
}

/** The body of GET /v2/schemas/<name>. */
export function schemaDocument(name: SchemaName, cfg: ImageSchemaConfig): JsonObject {
  switch (name) {
    case 'image':
      return raw(imageSchemaSpec(cfg));
    case 'images':
      return collection('images', imageSchemaSpec(cfg), 'array');
    case 'member':
      return minimal(MEMBER);
    case 'members':
      return minimalCollection('members', MEMBER);
    case 'task':
      return minimal(TASK);
    case 'tasks':
      return minimalCollection('tasks', TASK_STUB);
    case 'metadefs/namespace':
      return raw(NAMESPACE);
    case 'metadefs/namespaces':
      return collection('namespaces', NAMESPACE, 'array');
    case 'metadefs/resource_type':
      return raw(RESOURCE_TYPE);
    case 'metadefs/resource_types':
      return collection('resource_type_associations', RESOURCE_TYPE, 'array');
    case 'metadefs/property':
      return raw(PROPERTY);
    case 'metadefs/properties':
      // Inside the collection the property name is the dict key, so it is not required.
      return collection('properties', { ...PROPERTY, required: ['type', 'title'] }, 'object');
    case 'metadefs/object':
      return raw(OBJECT);
    case 'metadefs/objects':
      return collection('objects', OBJECT, 'array');
    case 'metadefs/tag':
      return raw(TAG);
    case 'metadefs/tags':
      return collection('tags', TAG, 'array');
  }
}

function imageBaseProperties(cfg: FormatConfig): JsonObject {
  return {
    id: {
      type: 'string',
      description: 'An identifier for the image',
      pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$',
    },
    name: {
      type: ['null', 'string'],
      description: 'Descriptive name for the image',
      maxLength: 255,
    },
    status: {
      type: 'string',
      readOnly: true,
      description: 'Status of the image',
      enum: [
        'queued',
        'saving',
        'active',
        'killed',
        'deleted',
        'uploading',
        'importing',
        'pending_delete',
        'deactivated',
      ],
    },
    visibility: {
      type: 'string',
      description: 'Scope of image accessibility',
      enum: ['community', 'public', 'private', 'shared'],
    },
    protected: {
      type: 'boolean',
      description: 'If true, image will not be deletable.',
    },
    os_hidden: {
      type: 'boolean',
      description: 'If true, image will not appear in default image list response.',
    },
    checksum: {
      type: ['null', 'string'],
      readOnly: true,
      description: 'md5 hash of image contents.',
      maxLength: 32,
    },
    os_hash_algo: {
      type: ['null', 'string'],
      readOnly: true,
      description: 'Algorithm to calculate the os_hash_value',
      maxLength: 64,
    },
    os_hash_value: {
      type: ['null', 'string'],
      readOnly: true,
      description: 'Hexdigest of the image contents using the algorithm specified by the os_hash_algo',
      maxLength: 128,
    },
    owner: {
      type: ['null', 'string'],
      description: 'Owner of the image',
      maxLength: 255,
    },
    size: {
      type: ['null', 'integer'],
      readOnly: true,
      description: 'Size of image file in bytes',
    },
    virtual_size: {
      type: ['null', 'integer'],
      readOnly: true,
      description: 'Virtual size of image in bytes',
    },
    container_format: {
      type: ['null', 'string'],
      description: 'Format of the container',
      enum: [null, ...cfg.containerFormats],
    },
    disk_format: {
      type: ['null', 'string'],
      description: 'Format of the disk',
      enum: [null, ...cfg.diskFormats],
    },
    created_at: {
      type: 'string',
      readOnly: true,
      description: 'Date and time of image registration',
    },
    updated_at: {
      type: 'string',
      readOnly: true,
      description: 'Date and time of the last image modification',
    },
    tags: {
      type: 'array',
      description: 'List of strings related to the image',
      items: {
        type: 'string',
        maxLength: 255,
      },
    },
    direct_url: {
      type: 'string',
      readOnly: true,
      description: 'URL to access the image file kept in external store',
    },
    min_ram: {
      type: 'integer',
      description: 'Amount of ram (in MB) required to boot image.',
    },
    min_disk: {
      type: 'integer',
      description: 'Amount of disk space (in GB) required to boot image.',
    },
    self: {
      type: 'string',
      readOnly: true,
      description: 'An image self url',
    },
    file: {
      type: 'string',
      readOnly: true,
      description: 'An image file url',
    },
    stores: {
      type: 'string',
      readOnly: true,
      description:
        'Store in which image data resides.  Only present when the operator has enabled multiple stores.  May be a comma-separated list of store identifiers.',
    },
    schema: {
      type: 'string',
      readOnly: true,
      description: 'An image schema url',
    },
    locations: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          url: {
            type: 'string',
            maxLength: 255,
          },
          metadata: {
            type: 'object',
          },
          validation_data: {
            description:
              "Values to be used to populate the corresponding image properties. If the image status is not 'queued', values must exactly match those already contained in the image properties.",
            type: 'object',
            writeOnly: true,
            additionalProperties: false,
            properties: {
              checksum: {
                type: 'string',
                minLength: 32,
                maxLength: 32,
              },
              os_hash_algo: {
                type: 'string',
                maxLength: 64,
              },
              os_hash_value: {
                type: 'string',
                maxLength: 128,
              },
            },
            required: ['os_hash_algo', 'os_hash_value'],
          },
        },
        required: ['url', 'metadata'],
      },
      description: 'A set of URLs to access the image file kept in external store',
    },
  };
}

const MEMBER_PROPERTIES: JsonObject = {
  member_id: {
    type: 'string',
    description: 'An identifier for the image member (tenantId)',
  },
  image_id: {
    type: 'string',
    description: 'An identifier for the image',
    pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$',
  },
  created_at: {
    type: 'string',
    description: 'Date and time of image member creation',
  },
  updated_at: {
    type: 'string',
    description: 'Date and time of last modification of image member',
  },
  status: {
    type: 'string',
    description: 'The status of this image member',
    enum: ['pending', 'accepted', 'rejected'],
  },
  schema: {
    readOnly: true,
    type: 'string',
  },
};

const TASK_PROPERTIES: JsonObject = {
  id: {
    description: 'An identifier for the task',
    pattern: '^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$',
    type: 'string',
  },
  type: {
    description: 'The type of task represented by this content',
    enum: ['import', 'api_image_import'],
    type: 'string',
  },
  status: {
    description: 'The current status of this task',
    enum: ['pending', 'processing', 'success', 'failure'],
    type: 'string',
  },
  input: {
    description: 'The parameters required by task, JSON blob',
    type: ['null', 'object'],
  },
  result: {
    description: 'The result of current task, JSON blob',
    type: ['null', 'object'],
  },
  owner: {
    description: 'An identifier for the owner of this task',
    type: 'string',
  },
  message: {
    description: 'Human-readable informative message only included when appropriate (usually on failure)',
    type: 'string',
  },
  image_id: {
    description: 'Image associated with the task',
    type: 'string',
  },
  request_id: {
    description: 'Human-readable informative request-id',
    type: 'string',
  },
  user_id: {
    description: 'User associated with the task',
    type: 'string',
  },
  expires_at: {
    description: 'Datetime when this resource would be subject to removal',
    type: ['null', 'string'],
  },
  created_at: {
    description: 'Datetime when this resource was created',
    type: 'string',
  },
  updated_at: {
    description: 'Datetime when this resource was updated',
    type: 'string',
  },
  self: {
    readOnly: true,
    type: 'string',
  },
  schema: {
    readOnly: true,
    type: 'string',
  },
};

const NAMESPACE_DEFINITIONS: JsonObject = {
  positiveInteger: {
    type: 'integer',
    minimum: 0,
  },
  positiveIntegerDefault0: {
    allOf: [
      {
        $ref: '#/definitions/positiveInteger',
      },
      {
        default: 0,
      },
    ],
  },
  stringArray: {
    type: 'array',
    items: {
      type: 'string',
    },
    uniqueItems: true,
  },
  property: {
    type: 'object',
    additionalProperties: {
      type: 'object',
      required: ['title', 'type'],
      properties: {
        name: {
          type: 'string',
          maxLength: 80,
        },
        title: {
          type: 'string',
        },
        description: {
          type: 'string',
        },
        operators: {
          type: 'array',
          items: {
            type: 'string',
          },
        },
        type: {
          type: 'string',
          enum: ['array', 'boolean', 'integer', 'number', 'object', 'string', null],
        },
        required: {
          $ref: '#/definitions/stringArray',
        },
        minimum: {
          type: 'number',
        },
        maximum: {
          type: 'number',
        },
        maxLength: {
          $ref: '#/definitions/positiveInteger',
        },
        minLength: {
          $ref: '#/definitions/positiveIntegerDefault0',
        },
        pattern: {
          type: 'string',
          format: 'regex',
        },
        enum: {
          type: 'array',
        },
        readonly: {
          type: 'boolean',
        },
        default: {},
        items: {
          type: 'object',
          properties: {
            type: {
              type: 'string',
              enum: ['array', 'boolean', 'integer', 'number', 'object', 'string', null],
            },
            enum: {
              type: 'array',
            },
          },
        },
        maxItems: {
          $ref: '#/definitions/positiveInteger',
        },
        minItems: {
          $ref: '#/definitions/positiveIntegerDefault0',
        },
        uniqueItems: {
          type: 'boolean',
          default: false,
        },
        additionalItems: {
          type: 'boolean',
        },
      },
    },
  },
};

const NAMESPACE_PROPERTIES: JsonObject = {
  namespace: {
    type: 'string',
    description: 'The unique namespace text.',
    maxLength: 80,
  },
  display_name: {
    type: 'string',
    description: 'The user friendly name for the namespace. Used by UI if available.',
    maxLength: 80,
  },
  description: {
    type: 'string',
    description: 'Provides a user friendly description of the namespace.',
    maxLength: 500,
  },
  visibility: {
    type: 'string',
    description: 'Scope of namespace accessibility.',
    enum: ['public', 'private'],
  },
  protected: {
    type: 'boolean',
    description: 'If true, namespace will not be deletable.',
  },
  owner: {
    type: 'string',
    description: 'Owner of the namespace.',
    maxLength: 255,
  },
  created_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of namespace creation',
    format: 'date-time',
  },
  updated_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of the last namespace modification',
    format: 'date-time',
  },
  schema: {
    readOnly: true,
    type: 'string',
  },
  self: {
    readOnly: true,
    type: 'string',
  },
  resource_type_associations: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
        },
        prefix: {
          type: 'string',
        },
        properties_target: {
          type: 'string',
        },
      },
    },
  },
  properties: {
    $ref: '#/definitions/property',
  },
  objects: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
        },
        description: {
          type: 'string',
        },
        required: {
          $ref: '#/definitions/stringArray',
        },
        properties: {
          $ref: '#/definitions/property',
        },
      },
    },
  },
  tags: {
    type: 'array',
    items: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
        },
      },
    },
  },
};

const OBJECT_PROPERTIES: JsonObject = {
  name: {
    type: 'string',
    maxLength: 80,
  },
  description: {
    type: 'string',
  },
  required: {
    $ref: '#/definitions/stringArray',
  },
  properties: {
    $ref: '#/definitions/property',
  },
  schema: {
    readOnly: true,
    type: 'string',
  },
  self: {
    readOnly: true,
    type: 'string',
  },
  created_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of object creation',
    format: 'date-time',
  },
  updated_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of the last object modification',
    format: 'date-time',
  },
};

const PROPERTY_DEFINITIONS: JsonObject = {
  positiveInteger: {
    type: 'integer',
    minimum: 0,
  },
  positiveIntegerDefault0: {
    allOf: [
      {
        $ref: '#/definitions/positiveInteger',
      },
      {
        default: 0,
      },
    ],
  },
  stringArray: {
    type: 'array',
    items: {
      type: 'string',
    },
    minItems: 1,
    uniqueItems: true,
  },
};

const RESOURCE_TYPE_PROPERTIES: JsonObject = {
  name: {
    type: 'string',
    description:
      'Resource type names should be aligned with Heat resource types whenever possible: https://docs.openstack.org/heat/latest/template_guide/openstack.html',
    maxLength: 80,
  },
  prefix: {
    type: 'string',
    description:
      'Specifies the prefix to use for the given resource type. Any properties in the namespace should be prefixed with this prefix when being applied to the specified resource type. Must include prefix separator (e.g. a colon :).',
    maxLength: 80,
  },
  properties_target: {
    type: 'string',
    description:
      'Some resource types allow more than one key / value pair per instance.  For example, Cinder allows user and image metadata on volumes. Only the image properties metadata is evaluated by Nova (scheduling or drivers). This property allows a namespace target to remove the ambiguity.',
    maxLength: 80,
  },
  created_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of resource type association',
    format: 'date-time',
  },
  updated_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of the last resource type association modification',
    format: 'date-time',
  },
};

const TAG_PROPERTIES: JsonObject = {
  name: {
    type: 'string',
    maxLength: 80,
  },
  created_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of tag creation',
    format: 'date-time',
  },
  updated_at: {
    type: 'string',
    readOnly: true,
    description: 'Date and time of the last tag modification',
    format: 'date-time',
  },
};

const MEMBER: SchemaSpec = { name: 'member', properties: MEMBER_PROPERTIES };

const TASK: SchemaSpec = { name: 'task', properties: TASK_PROPERTIES };

// Task lists leave out the bulky fields (tasks.py _get_partial_task_schema).
const TASK_STUB: SchemaSpec = {
  name: 'task',
  properties: Object.fromEntries(
    Object.entries(TASK_PROPERTIES).filter(([key]) => !['input', 'result', 'message'].includes(key)),
  ) as { [key: string]: JsonValue },
};

const NAMESPACE: SchemaSpec = {
  name: 'namespace',
  properties: NAMESPACE_PROPERTIES,
  required: ['namespace'],
  definitions: NAMESPACE_DEFINITIONS,
};

const OBJECT: SchemaSpec = {
  name: 'object',
  properties: OBJECT_PROPERTIES,
  required: ['name'],
  definitions: NAMESPACE_DEFINITIONS,
};

const PROPERTY: SchemaSpec = {
  name: 'property',
  properties: (
    NAMESPACE_DEFINITIONS.property as JsonObject & { additionalProperties: { properties: JsonObject } }
  ).additionalProperties.properties,
  required: ['type', 'title', 'name'],
  definitions: PROPERTY_DEFINITIONS,
};

const RESOURCE_TYPE: SchemaSpec = {
  name: 'resource_type_association',
  properties: RESOURCE_TYPE_PROPERTIES,
  required: ['name'],
};

const TAG: SchemaSpec = { name: 'tag', properties: TAG_PROPERTIES, required: ['name'] };
