export { ConfigError } from './errors.js';
export { parseIni, type IniDocument, type IniEntry } from './ini.js';
export {
  loadConfig,
  validateConfig,
  type Backend,
  type FileBackend,
  type FileStoreConfig,
  type GlanceConfig,
  type HttpBackend,
  type OtherBackend,
  type RbdBackend,
  type ReservedStore,
} from './load.js';
