import type { ImageRecord } from '../../../../api-server/src/domain/types.js';
import type { PyJson } from '../../../../api-server/src/notify/index.js';
import { ImageEvents } from '../../../../api-server/src/services/image-events.js';
import { recordingNotifier } from '../../../fakes/notifier.js';

const recorder = recordingNotifier;

const image: ImageRecord = {
  id: '6b1b3c4e-0000-4000-8000-000000000001',
  name: 'cirros',
  disk_format: 'qcow2',
  container_format: 'bare',
  size: 64,
  virtual_size: null,
  status: 'active',
  visibility: 'public',
  checksum: 'c'.repeat(32),
  os_hash_algo: 'sha512',
  os_hash_value: 'd'.repeat(128),
  min_disk: 0,
  min_ram: 0,
  protected: false,
  os_hidden: false,
  owner: 'p'.repeat(32),
  created_at: new Date('2026-12-07T10:00:00Z'),
  updated_at: new Date('2026-12-07T10:00:01Z'),
  deleted_at: null,
  deleted: false,
  properties: { hw_disk_bus: 'virtio', kernel_id: null },
  tags: ['a'],
  locations: [{ id: 1, url: 'file:///secret/path', metadata: {}, status: 'active' }],
} as ImageRecord;

describe('ImageEvents', () => {
  test('an upload that activates the image is upload, activate, update, in upstream order', () => {
    const { notifier, sent } = recorder();
    new ImageEvents(notifier).uploaded(image, null, true);
    expect(sent.map((s) => s.eventType)).toEqual(['image.upload', 'image.activate', 'image.update']);
    expect(sent[0]!.payload).toMatchObject({ id: image.id, status: 'active', os_glance_failed_import: [] });
    expect(sent[0]!.payload).not.toHaveProperty('backend');
  });

  test('an upload to a named store carries the backend; an image already active is not activated again', () => {
    const { notifier, sent } = recorder();
    new ImageEvents(notifier).uploaded(image, 'fast', false);
    expect(sent.map((s) => s.eventType)).toEqual(['image.upload', 'image.update']);
    expect(sent[0]!.payload).toMatchObject({ backend: 'fast' });
  });

  test('the payload is the image without its locations; NULL properties stay null', () => {
    const { notifier, sent } = recorder();
    new ImageEvents(notifier).created(image);
    const payload = sent[0]!.payload as Record<string, PyJson>;
    expect(payload).toMatchObject({
      is_public: true,
      properties: { hw_disk_bus: 'virtio', kernel_id: null },
    });
    expect(JSON.stringify(payload)).not.toContain('/secret/path');
  });

  test('a failed upload is image.upload at ERROR with upstream text; disabled events are not built', () => {
    const { notifier, sent } = recorder(['image.update', 'image.activate']);
    const events = new ImageEvents(notifier);
    events.uploadFailed('storage_full', image.id, 'no space left');
    events.uploaded(image, null, true);
    expect(events.wants('image.update')).toBe(false);
    expect(sent).toEqual([
      {
        eventType: 'image.upload',
        payload: 'Image storage media is full: no space left',
        options: { priority: 'ERROR' },
      },
      expect.objectContaining({ eventType: 'image.upload' }),
    ]);
  });

  test('a deleted image is reported deleted, with its deletion time', () => {
    const { notifier, sent } = recorder();
    new ImageEvents(notifier).deleted(image, new Date('2026-12-07T11:00:00Z'));
    expect(sent[0]).toMatchObject({
      eventType: 'image.delete',
      payload: { status: 'deleted', deleted: true, deleted_at: '2026-12-07T11:00:00Z' },
    });
  });
});
