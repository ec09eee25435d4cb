import { copiedProperties, remoteSize } from '../../../../api-server/src/import/glance-download.js';
import { ImportFailed } from '../../../../api-server/src/import/task-context.js';

// What glance-download takes from the remote image's document (upstream's _ImportMetadata).

const DEFAULT_PREFIXES = ['hw_', 'trait:', 'os_distro', 'os_secure_boot', 'os_type'];

const REMOTE = {
  id: '8a2b3b0e-5bb8-4a39-9f71-6f0b5c0f9a11',
  name: 'source',
  status: 'active',
  disk_format: 'qcow2',
  container_format: 'bare',
  size: 1024,
  os_hidden: false,
  os_hash_algo: 'sha512',
  hw_cpu_cores: '5',
  'trait:STORAGE_DISK_SSD': 'required',
  os_distro: 'rhel',
  os_distro_version: '9',
  os_glance_importing_to_stores: '',
  os_glance_custom: 'x',
  speed: '88mph',
  tags: ['a'],
};

describe('copiedProperties', () => {
  it("copies the properties under upstream's default prefixes and nothing else", () => {
    expect(copiedProperties(REMOTE, DEFAULT_PREFIXES)).toEqual({
      hw_cpu_cores: '5',
      'trait:STORAGE_DISK_SSD': 'required',
      os_distro: 'rhel',
      os_distro_version: '9',
    });
  });

  it("never copies Glance's own os_glance_* properties nor the image's attributes, whatever the prefixes", () => {
    expect(copiedProperties(REMOTE, ['os_', 'name', 'tags'])).toEqual({
      os_distro: 'rhel',
      os_distro_version: '9',
    });
  });

  it('copies nothing with no prefixes configured', () => {
    expect(copiedProperties(REMOTE, [])).toEqual({});
  });
});

describe('remoteSize', () => {
  it('reads an integer size, or one written as digits', () => {
    expect(remoteSize(1024, 'x')).toBe(1024);
    expect(remoteSize('2048', 'x')).toBe(2048);
  });

  it("fails the import when the remote image's size cannot be determined", () => {
    for (const size of [null, undefined, 'big', 1.5]) {
      expect(() => remoteSize(size, 'abc')).toThrow(
        new ImportFailed('Size attribute of remote image abc could not be determined.'),
      );
    }
  });
});
