import { imageSpec } from '../../../../operator/src/api/image-types.js';
import { driftPatch } from '../../../../operator/src/image/drift.js';
import type { GlanceImage } from '../../../../operator/src/image/glance-images.js';

const spec = imageSpec.parse({
  cloud: { authUrl: 'http://keystone:5000/v3', credentialsSecretRef: { name: 'c' } },
  diskFormat: 'qcow2',
  tags: ['b', 'a'],
  properties: { os_distro: 'cirros', hw_disk_bus: 'virtio', hw_qemu_guest_agent: 'yes' },
  source: { url: 'http://example.org/cirros.img' },
});

const asDeclared: GlanceImage = {
  id: '1',
  name: 'cirros',
  status: 'active',
  visibility: 'private',
  protected: false,
  os_hidden: false,
  disk_format: 'qcow2',
  container_format: 'bare',
  min_disk: 0,
  min_ram: 0,
  tags: ['a', 'b'],
  size: 10,
  checksum: 'c',
  os_hash_algo: 'sha512',
  os_hash_value: 'v',
  owner: 'p',
  os_distro: 'cirros',
  hw_disk_bus: 'virtio',
  hw_qemu_guest_agent: 'yes',
  os_glance_importing_to_stores: '',
  stores: 'file',
};

describe('drift repair', () => {
  it('changes nothing on an image as declared (tag order and server-owned os_* keys do not count)', () => {
    expect(driftPatch(asDeclared, spec, 'cirros')).toEqual([]);
  });

  it('puts back attributes, the exact tag set and properties, and removes properties added by hand', () => {
    const drifted: GlanceImage = {
      ...asDeclared,
      name: 'renamed',
      visibility: 'public',
      min_ram: 512,
      tags: ['a', 'extra'],
      hw_disk_bus: 'scsi',
      added_by_hand: 'yes',
      os_type: 'linux',
    };
    delete drifted.hw_qemu_guest_agent;
    expect(driftPatch(drifted, spec, 'cirros')).toEqual([
      { op: 'replace', path: '/name', value: 'cirros' },
      { op: 'replace', path: '/visibility', value: 'private' },
      { op: 'replace', path: '/min_ram', value: 0 },
      { op: 'replace', path: '/tags', value: ['a', 'b'] },
      { op: 'replace', path: '/hw_disk_bus', value: 'virtio' },
      { op: 'add', path: '/hw_qemu_guest_agent', value: 'yes' },
      { op: 'remove', path: '/added_by_hand' },
    ]);
  });
});
