import type { TaskRecord } from '../../../../api-server/src/db/task-repo.js';
import type { ImageRecord } from '../../../../api-server/src/domain/types.js';
import type { PyJson } from '../../../../api-server/src/notify/index.js';
import { StoreError } from '../../../../api-server/src/store/errors.js';
import { TaskEvents } from '../../../../api-server/src/services/task-events.js';
import { recordingNotifier } from '../../../fakes/notifier.js';

const recorder = recordingNotifier;

const task: TaskRecord = {
  id: '0f0e0d0c-0000-4000-8000-000000000001',
  type: 'api_image_import',
  status: 'pending',
  owner: 'p'.repeat(32),
  expires_at: null,
  created_at: new Date('2026-12-07T10:00:00Z'),
  updated_at: new Date('2026-12-07T10:00:00Z'),
  deleted_at: null,
  deleted: false,
  image_id: '6b1b3c4e-0000-4000-8000-000000000001',
  request_id: 'req-1',
  user_id: 'u'.repeat(32),
  input: {
    image_id: '6b1b3c4e-0000-4000-8000-000000000001',
    import_req: { method: { uri: 'http://u:pw@x/' } },
  },
  result: null,
  message: null,
};

const image = {
  id: '6b1b3c4e-0000-4000-8000-000000000001',
  name: 'imported',
  disk_format: 'raw',
  container_format: 'bare',
  size: 32,
  virtual_size: 32,
  status: 'active',
  visibility: 'shared',
  checksum: 'c'.repeat(32),
  min_disk: 0,
  min_ram: 0,
  protected: false,
  owner: 'p'.repeat(32),
  created_at: new Date('2026-12-07T10:00:00Z'),
  updated_at: new Date('2026-12-07T10:00:02Z'),
  properties: { os_glance_importing_to_stores: 'fast,slow' },
  tags: [],
  locations: [{ id: 1, url: 'file:///secret/path', metadata: {}, status: 'active' }],
} as unknown as ImageRecord;

describe('TaskEvents', () => {
  test("a task's life is task.create, task.processing, task.success, task.run with format_task_notification", () => {
    const { notifier, sent } = recorder();
    const events = new TaskEvents(notifier);
    events.taskCreated(task);
    events.taskProcessing({ ...task, status: 'processing' });
    const expires = new Date('2026-12-09T10:00:05Z');
    events.taskEnded({ ...task, status: 'success', expires_at: expires, result: { image_id: image.id } });
    events.taskRan(task);
    expect(sent.map((s) => [s.eventType, (s.payload as Record<string, PyJson>).status])).toEqual([
      ['task.create', 'pending'],
      ['task.processing', 'processing'],
      ['task.success', 'success'],
      ['task.run', 'pending'],
    ]);
    expect(sent[2]!.payload).toEqual({
      id: task.id,
      type: 'api_image_import',
      status: 'success',
      result: null,
      owner: task.owner,
      message: null,
      expires_at: '2026-12-09T10:00:05Z',
      created_at: '2026-12-07T10:00:00Z',
      updated_at: '2026-12-07T10:00:00Z',
      deleted: false,
      deleted_at: null,
    });
    // The input may hold credentials (a web-download URI): it is never sent.
    expect(JSON.stringify(sent)).not.toContain('pw@');
  });

  test('a failed task is task.failure, without its message', () => {
    const { notifier, sent } = recorder();
    new TaskEvents(notifier).taskEnded({ ...task, status: 'failure', message: 'Expired lock preempted' });
    expect(sent.map((s) => s.eventType)).toEqual(['task.failure']);
    expect(sent[0]!.payload).toMatchObject({ status: 'failure', message: null });
  });

  test("an import's data stored: image.prepare, then image.upload with the store, image.activate, image.update", () => {
    const { notifier, sent } = recorder();
    const events = new TaskEvents(notifier);
    events.imagePreparing({ ...image, status: 'importing' }, 'fast');
    events.imageUploaded(image, 'fast', true);
    expect(sent.map((s) => s.eventType)).toEqual([
      'image.prepare',
      'image.upload',
      'image.activate',
      'image.update',
    ]);
    expect(sent[0]!.payload).toMatchObject({
      status: 'importing',
      backend: 'fast',
      os_glance_importing_to_stores: ['fast', 'slow'],
    });
    expect(JSON.stringify(sent)).not.toContain('/secret/path');
  });

  test('a store that fails is image.upload at ERROR with the text upstream sends', () => {
    const { notifier, sent } = recorder();
    new TaskEvents(notifier).imageUploadFailed(image.id, new StoreError('storage-full', 'No space left'));
    expect(sent).toEqual([
      {
        eventType: 'image.upload',
        payload: 'Image storage media is full: No space left',
        options: { priority: 'ERROR' },
      },
    ]);
  });

  test('disabled_notifications = task leaves the image events and sends no task event', () => {
    const { notifier, sent } = recorder(['task']);
    const events = new TaskEvents(notifier);
    events.taskCreated(task);
    events.taskRan(task);
    events.imageUpdated(image);
    expect(sent.map((s) => s.eventType)).toEqual(['image.update']);
  });
});
