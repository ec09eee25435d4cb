// The attributes of a Glance v2 image that are the image's own (upstream's domain Image and the links of its
// document), as opposed to extra properties. Kept free of imports: the operator reads the same list.

/** Those a PATCH may change (ImagesController's changeable attributes). */
export const WRITABLE_IMAGE_ATTRIBUTES = [
  'name',
  'visibility',
  'protected',
  'os_hidden',
  'min_disk',
  'min_ram',
  'owner',
  'disk_format',
  'container_format',
  'tags',
  'locations',
] as const;

/** Those only the server sets or links: a PATCH naming one is refused as read-only. */
export const READ_ONLY_IMAGE_ATTRIBUTES = [
  'created_at',
  'updated_at',
  'status',
  'checksum',
  'size',
  'virtual_size',
  'direct_url',
  'self',
  'file',
  'schema',
  'id',
  'os_hash_algo',
  'os_hash_value',
] as const;

/** Every key of an image document that is not an extra property: the above, and multistore's `stores`. */
export const IMAGE_ATTRIBUTES: ReadonlySet<string> = new Set<string>([
  ...WRITABLE_IMAGE_ATTRIBUTES,
  ...READ_ONLY_IMAGE_ATTRIBUTES,
  'stores',
]);
