import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyOverrides } from '../../../../api-server/src/auth/policy-file.js';
import { ConfigError } from '../../../../api-server/src/config/errors.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'glance-policy-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function cfg(policyFile: string, policyDirs: string[]) {
  return {
    source: join(dir, 'glance-api.conf'),
    oslo_policy: {
      policy_file: policyFile,
      policy_dirs: policyDirs,
      enforce_new_defaults: false,
      enforce_scope: false,
    },
  };
}

describe('loadPolicyOverrides', () => {
  it('reads policy_file beside the config file, then policy_dirs in name order, later files winning', () => {
    writeFileSync(join(dir, 'policy.yaml'), '"delete_image": "role:admin"\n"publicize_image": "!"\n');
    mkdirSync(join(dir, 'policy.d'));
    writeFileSync(join(dir, 'policy.d', '20-late.yaml'), 'publicize_image: "@"\n');
    writeFileSync(
      join(dir, 'policy.d', '10-early.json'),
      '{"publicize_image": "role:member", "copy_image": ""}',
    );
    // Like the commented-out sample Debian ships in /etc/glance/policy.d.
    writeFileSync(join(dir, 'policy.d', '00-sample.yaml'), '# "get_image": "role:admin"\n');
    expect(loadPolicyOverrides(cfg('policy.yaml', [join(dir, 'policy.d')]))).toEqual({
      delete_image: 'role:admin',
      publicize_image: '@',
      copy_image: '',
    });
  });

  it('uses the defaults when the files do not exist', () => {
    expect(loadPolicyOverrides(cfg(join(dir, 'absent.yaml'), [join(dir, 'absent.d')]))).toEqual({});
  });

  it('refuses a policy file it cannot use, naming every problem', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'get_image: [role:admin]\nadd_image: 7\n');
    let error: unknown;
    try {
      loadPolicyOverrides(cfg(join(dir, 'bad.yaml'), []));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      `${join(dir, 'bad.yaml')}: rule get_image must be a check string`,
      `${join(dir, 'bad.yaml')}: rule add_image must be a check string`,
    ]);
  });
});
