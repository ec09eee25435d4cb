import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../config/errors.js';
import type { GlanceConfig } from '../config/load.js';

// oslo.config's find_file: beside the config file, then ~/.glance, ~, /etc/glance, /etc.
function findPolicyPath(name: string, configFile: string): string | null {
  if (isAbsolute(name)) return existsSync(name) ? name : null;
  const dirs = [dirname(configFile), join(homedir(), '.glance'), homedir(), '/etc/glance', '/etc'];
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path)) ?? null;
}

/** A policy file is a YAML (or JSON) mapping of rule names to check strings; an all-comments file is empty. */
function readRules(path: string, into: Record<string, string>, problems: string[]): void {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (err) {
    problems.push(`${path}: not a YAML or JSON policy file (${(err as Error).message.split('\n')[0]})`);
    return;
  }
  if (parsed === null || parsed === undefined) return;
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    problems.push(`${path}: must map rule names to check strings`);
    return;
  }
  for (const [name, check] of Object.entries(parsed)) {
    if (typeof check === 'string') into[name] = check;
    else problems.push(`${path}: rule ${name} must be a check string`);
  }
}

/** The policy files of this configuration that exist: policy_file, then each policy_dirs directory's files. */
function policyFiles(cfg: Pick<GlanceConfig, 'source' | 'oslo_policy'>): string[] {
  const { policy_file, policy_dirs } = cfg.oslo_policy;
  const files: string[] = [];
  const file = findPolicyPath(policy_file, cfg.source);
  if (file && statSync(file).isFile()) files.push(file);
  for (const name of policy_dirs) {
    const dir = findPolicyPath(name, cfg.source);
    if (!dir || !statSync(dir).isDirectory()) continue;
    for (const entry of readdirSync(dir).sort()) {
      const path = join(dir, entry);
      if (statSync(path).isFile()) files.push(path);
    }
  }
  return files;
}

/**
 * What changes when any policy file is written, added or removed: oslo.policy reloads its rules when a file's
 * modification time changes, and so does this server (auth/policy.ts).
 */
export function policyFilesVersion(cfg: Pick<GlanceConfig, 'source' | 'oslo_policy'>): string {
  return policyFiles(cfg)
    .map((path) => {
      const st = statSync(path, { throwIfNoEntry: false });
      return `${path}:${st?.mtimeMs ?? 0}:${st?.size ?? 0}`;
    })
    .join('\n');
}

/**
 * The rules that replace upstream's defaults in this configuration: [oslo_policy] policy_file, then each
 * policy_dirs directory (files in name order), wherever they exist; later files win. Throws ConfigError.
 */
export function loadPolicyOverrides(
  cfg: Pick<GlanceConfig, 'source' | 'oslo_policy'>,
): Record<string, string> {
  const overrides: Record<string, string> = {};
  const problems: string[] = [];
  for (const path of policyFiles(cfg)) readRules(path, overrides, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return overrides;
}
