// Upstream option names we accept and ignore in the sections we interpret, so upstream's glance-api.conf loads
// unchanged while a typo in one of those sections is still reported. Taken from the glance-api.conf that
// oslo-config-generator writes for Glance 25 (Debian's /etc/glance/glance-api.conf), with the deprecated names it
// lists, keystoneauth's password/token/application-credential plugin options and glance_store's driver options.

const words = (text: string): readonly string[] => text.trim().split(/\s+/);

// use_keystone_quotas is no upstream option, but the install guide tells operators to set it and oslo.config
// ignores it, so configs that followed the guide must still load.
export const IGNORED_DEFAULT = words(`
  backlog client_socket_timeout conn_pool_min_size conn_pool_ttl control_exchange debug default_log_levels
  default_publisher_id delayed_delete digest_algorithm disabled_notifications executor_thread_pool_size
  fatal_deprecations http_keepalive image_cache_sqlite_db instance_format instance_uuid_format location_strategy
  log_config_append log_date_format
  log_dir log_file log_rotate_interval log_rotate_interval_type log_rotation_type logging_context_format_string
  logging_debug_format_suffix logging_default_format_string logging_exception_prefix logging_user_identity_format
  max_header_line max_logfile_count max_logfile_size_mb metadata_encryption_key pipe_handle
  property_protection_file property_protection_rule_format publish_errors pydev_worker_debug_host
  pydev_worker_debug_port rate_limit_burst rate_limit_except_level rate_limit_interval rpc_conn_pool_size
  rpc_ping_enabled rpc_response_timeout scrub_pool_size scrub_time syslog_log_facility tcp_keepidle transport_url
  use_eventlog use_journal use_json use_stderr use_syslog watch_log_file
  log_config logdir logfile rpc_thread_pool_size db_backend sql_connection_debug sql_connection_trace
  sql_max_overflow sql_max_retries sql_retry_interval notification_driver notification_topics
  notification_transport_url container_formats disk_formats task_time_to_live
  use_keystone_quotas
`);

export const IGNORED_DATABASE = words(`
  backend connection_debug connection_parameters connection_recycle_time connection_trace db_inc_retry_interval
  db_max_retries db_max_retry_interval db_retry_interval max_overflow max_pool_size max_retries mysql_enable_ndb
  mysql_sql_mode pool_timeout retry_interval slave_connection sqlite_synchronous use_db_reconnect
  reconnect_interval sql_max_retries sqlalchemy_max_overflow sqlalchemy_pool_timeout
`);

export const IGNORED_KEYSTONE_AUTHTOKEN = words(`
  auth_section auth_plugin auth_version interface delay_auth_decision http_request_max_retries cache certfile
  keyfile cafile insecure memcached_servers memcache_servers memcache_security_strategy memcache_secret_key
  memcache_pool_dead_retry memcache_pool_maxsize memcache_pool_socket_timeout memcache_pool_unused_timeout
  memcache_pool_conn_get_timeout memcache_use_advanced_pool include_service_catalog enforce_token_bind
  service_token_roles service_token_roles_required service_type auth_admin_prefix auth_host auth_port
  auth_protocol identity_uri admin_token admin_user admin_password admin_tenant_name
  system_scope domain_id domain_name trust_id default_domain_id default_domain_name token
  application_credential_secret application_credential_id application_credential_name
`);

export const IGNORED_PASTE_DEPLOY = words('config_file');

export const IGNORED_OSLO_POLICY = words(`
  policy_default_rule remote_content_type remote_ssl_verify_server_crt remote_ssl_ca_crt_file
  remote_ssl_client_crt_file remote_ssl_client_key_file
`);

// keystoneauth's session, adapter and other auth-plugin options that oslo.limit registers in [oslo_limit].
export const IGNORED_OSLO_LIMIT = words(`
  auth_section cafile certfile keyfile insecure collect_timing split_loggers service_type service_name
  valid_interfaces region_name endpoint_override version min_version max_version connect_retries
  connect_retry_delay status_code_retries status_code_retry_delay retriable_status_codes domain_id domain_name
  trust_id default_domain_id default_domain_name tenant_id tenant_name user_name interface
`);

export const FILE_STORE_IGNORED = words('filesystem_store_datadirs filesystem_store_metadata_file');

// http_proxy_information is accepted and not applied: the http store connects directly.
export const HTTP_STORE_OPTIONS = words('http_proxy_information');

export const CINDER_STORE_OPTIONS = words(`
  cinder_catalog_info cinder_endpoint_template cinder_os_region_name cinder_ca_certificates_file
  cinder_http_retries cinder_state_transition_timeout cinder_api_insecure cinder_store_auth_address
  cinder_store_user_name cinder_store_user_domain_name cinder_store_password cinder_store_project_name
  cinder_store_project_domain_name rootwrap_config cinder_volume_type cinder_enforce_multipath
  cinder_use_multipath cinder_mount_point_base
`);

export const S3_STORE_OPTIONS = words(`
  s3_store_host s3_store_access_key s3_store_secret_key s3_store_bucket s3_store_create_bucket_on_put
  s3_store_bucket_url_format s3_store_large_object_size s3_store_large_object_chunk_size s3_store_thread_pools
`);

export const SWIFT_STORE_OPTIONS = words(`
  swift_store_auth_insecure swift_store_cacert swift_store_region swift_store_endpoint swift_store_endpoint_type
  swift_store_service_type swift_store_container swift_store_large_object_size swift_store_large_object_chunk_size
  swift_store_create_container_on_put swift_store_multi_tenant swift_store_multiple_containers_seed
  swift_store_admin_tenants swift_store_ssl_compression swift_store_retry_get_count swift_store_expire_soon_interval
  swift_store_use_trusts swift_buffer_on_upload default_swift_reference swift_store_auth_version
  swift_store_auth_address swift_store_user swift_store_key swift_store_config_file swift_upload_buffer_dir
`);

export const VMWARE_STORE_OPTIONS = words(`
  vmware_server_host vmware_server_username vmware_server_password vmware_api_retry_count
  vmware_task_poll_interval vmware_store_image_dir vmware_insecure vmware_ca_file vmware_datastores
  vmware_api_insecure
`);

export const IGNORED_GLANCE_STORE = [
  ...FILE_STORE_IGNORED,
  ...HTTP_STORE_OPTIONS,
  ...CINDER_STORE_OPTIONS,
  ...S3_STORE_OPTIONS,
  ...SWIFT_STORE_OPTIONS,
  ...VMWARE_STORE_OPTIONS,
  'os_region_name',
];

/** Options whose values may be secret (passwords, keys, URLs with credentials): never quote them. */
const SECRET_KEY = /password|secret|connection|transport_url|token$|_key$|^key$/;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}
