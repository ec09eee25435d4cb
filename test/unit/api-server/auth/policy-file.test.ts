import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyOverrides } from '../../../../api-server/src/auth/policy-file.js';
import { createPolicy } from '../../../../api-server/src/auth/policy.js';
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

describe('createPolicy', () => {
  const member = {
    requestId: 'req-test',
    userId: 'u',
    projectId: 'p',
    domainId: null,
    roles: ['member'],
    systemScope: false,
    isAdmin: false,
    authToken: 't',
  };
  const own = { owner: 'p', visibility: 'private' } as const;

  it('reloads the policy files when one changes, as oslo.policy does, and keeps the rules if a change is unreadable', () => {
    const file = join(dir, 'policy.yaml');
    writeFileSync(file, '"delete_image": "role:admin"\n');
    let clock = 0;
    const errors: string[] = [];
    const policy = createPolicy(
      cfg('policy.yaml', []),
      (err) => errors.push(err.message),
      () => clock,
    );
    expect(policy.check(member, 'delete_image', own)).toBe(false);

    writeFileSync(file, '"delete_image": "role:member"\n# a longer file, so its size changes too\n');
    clock += 2000;
    expect(policy.check(member, 'delete_image', own)).toBe(true);

    writeFileSync(file, '"delete_image": [not, a, check, string]\n');
    clock += 2000;
    expect(policy.check(member, 'delete_image', own)).toBe(true);
    expect(errors).toEqual([expect.stringContaining('rule delete_image must be a check string')]);

    rmSync(file);
    clock += 2000;
    // Without the file, upstream's default for delete_image (legacy: anyone who may see it) applies again.
    expect(policy.check(member, 'delete_image', own)).toBe(true);
    expect(policy.check({ ...member, roles: ['reader'] }, 'delete_image', own)).toBe(true);
  });
});
