// Upstream Glance 25's registered policy defaults (glance/policies/*.py), written with the same building blocks
// as glance/policies/base.py so the two can be compared line by line. `legacy` is the deprecated rule that
// oslo.policy ORs in while [oslo_policy] enforce_new_defaults is False; `projectScope` marks scope_types=['project'].

const PROJECT_MEMBER = 'role:member and project_id:%(project_id)s';
const PROJECT_READER = 'role:reader and project_id:%(project_id)s';
const IMAGE_MEMBER_CHECK = 'project_id:%(member_id)s';
const COMMUNITY_VISIBILITY_CHECK = "'community':%(visibility)s";
const PUBLIC_VISIBILITY_CHECK = "'public':%(visibility)s";
const SHARED_VISIBILITY_CHECK = "'shared':%(visibility)s";
const VISIBLE_IMAGE =
  `project_id:%(project_id)s or ${IMAGE_MEMBER_CHECK} or ${COMMUNITY_VISIBILITY_CHECK} ` +
  `or ${PUBLIC_VISIBILITY_CHECK} or ${SHARED_VISIBILITY_CHECK}`;
const PROJECT_READER_OR_PUBLIC_NAMESPACE = `role:reader and (project_id:%(project_id)s or ${PUBLIC_VISIBILITY_CHECK})`;

const ADMIN = 'role:admin';
const ADMIN_OR_PROJECT_MEMBER = `role:admin or (${PROJECT_MEMBER})`;
const ADMIN_OR_PROJECT_READER = `role:admin or (${PROJECT_READER})`;
const ADMIN_OR_PROJECT_READER_GET_IMAGE = `role:admin or (role:reader and (${VISIBLE_IMAGE}))`;
const ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE = `role:admin or (role:member and (${VISIBLE_IMAGE}))`;
const ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE = `role:admin or (${PROJECT_MEMBER} and project_id:%(owner)s)`;
const ADMIN_OR_PROJECT_READER_GET_NAMESPACE = `role:admin or (${PROJECT_READER_OR_PUBLIC_NAMESPACE})`;
const ADMIN_OR_SHARED_MEMBER = `role:admin or (role:member and ${IMAGE_MEMBER_CHECK})`;
// Unparenthesised upstream; `and` binds tighter, so this is admin or (reader and (...)).
const ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER = `role:admin or role:reader and (project_id:%(project_id)s or ${IMAGE_MEMBER_CHECK})`;

export interface RuleDefault {
  readonly name: string;
  readonly check: string;
  readonly legacy?: string;
  readonly projectScope?: true;
}

// Generic in the name so that PolicyAction below is the union of upstream's rule names.
const image = <N extends string>(name: N, check: string) =>
  ({ name, check, legacy: 'rule:default', projectScope: true }) as const;
const metadefRead = <N extends string>(name: N, check: string) =>
  ({ name, check, legacy: 'rule:metadef_default', projectScope: true }) as const;
const metadefAdmin = <N extends string>(name: N) =>
  ({ name, check: 'rule:metadef_admin', projectScope: true }) as const;
const cache = <N extends string>(name: N) =>
  ({ name, check: ADMIN, legacy: 'rule:manage_image_cache', projectScope: true }) as const;
const project = <N extends string>(name: N, check: string) => ({ name, check, projectScope: true }) as const;

export const DEFAULT_RULES = [
  { name: 'default', check: '', legacy: 'role:admin' },
  { name: 'context_is_admin', check: ADMIN },

  image('add_image', ADMIN_OR_PROJECT_MEMBER_CREATE_IMAGE),
  image('delete_image', ADMIN_OR_PROJECT_MEMBER),
  image('get_image', ADMIN_OR_PROJECT_READER_GET_IMAGE),
  image('get_images', ADMIN_OR_PROJECT_READER),
  image('modify_image', ADMIN_OR_PROJECT_MEMBER),
  project('publicize_image', ADMIN),
  image('communitize_image', ADMIN_OR_PROJECT_MEMBER),
  image('download_image', ADMIN_OR_PROJECT_MEMBER_DOWNLOAD_IMAGE),
  image('upload_image', ADMIN_OR_PROJECT_MEMBER),
  image('delete_image_location', ADMIN),
  image('get_image_location', ADMIN_OR_PROJECT_READER),
  image('set_image_location', ADMIN_OR_PROJECT_MEMBER),
  image('add_member', ADMIN_OR_PROJECT_MEMBER),
  image('delete_member', ADMIN_OR_PROJECT_MEMBER),
  image('get_member', ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER),
  image('get_members', ADMIN_OR_PROJECT_READER_OR_SHARED_MEMBER),
  image('modify_member', ADMIN_OR_SHARED_MEMBER),
  project('manage_image_cache', ADMIN),
  image('deactivate', ADMIN_OR_PROJECT_MEMBER),
  image('reactivate', ADMIN_OR_PROJECT_MEMBER),
  project('copy_image', ADMIN),

  project('get_task', 'rule:default'),
  project('get_tasks', 'rule:default'),
  project('add_task', 'rule:default'),
  project('modify_task', 'rule:default'),
  project('tasks_api_access', ADMIN),

  { name: 'metadef_default', check: '' },
  { name: 'metadef_admin', check: ADMIN },
  metadefRead('get_metadef_namespace', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefRead('get_metadef_namespaces', ADMIN_OR_PROJECT_READER),
  metadefAdmin('modify_metadef_namespace'),
  metadefAdmin('add_metadef_namespace'),
  metadefAdmin('delete_metadef_namespace'),
  metadefRead('get_metadef_object', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefRead('get_metadef_objects', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefAdmin('modify_metadef_object'),
  metadefAdmin('add_metadef_object'),
  metadefAdmin('delete_metadef_object'),
  metadefRead('list_metadef_resource_types', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefRead('get_metadef_resource_type', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefAdmin('add_metadef_resource_type_association'),
  metadefAdmin('remove_metadef_resource_type_association'),
  metadefRead('get_metadef_property', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefRead('get_metadef_properties', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefAdmin('modify_metadef_property'),
  metadefAdmin('add_metadef_property'),
  metadefAdmin('remove_metadef_property'),
  metadefRead('get_metadef_tag', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefRead('get_metadef_tags', ADMIN_OR_PROJECT_READER_GET_NAMESPACE),
  metadefAdmin('modify_metadef_tag'),
  metadefAdmin('add_metadef_tag'),
  metadefAdmin('add_metadef_tags'),
  metadefAdmin('delete_metadef_tag'),
  metadefAdmin('delete_metadef_tags'),

  cache('cache_image'),
  cache('cache_list'),
  cache('cache_delete'),

  project('stores_info_detail', ADMIN),
] as const satisfies readonly RuleDefault[];

export type RuleName = (typeof DEFAULT_RULES)[number]['name'];
