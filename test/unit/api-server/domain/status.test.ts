import {
  checkStatusTransition,
  deactivatedStatus,
  deletedStatus,
  reactivatedStatus,
  VALID_STATE_TARGETS,
} from '../../../../api-server/src/domain/status.js';
import { IMAGE_STATUSES } from '../../../../api-server/src/domain/types.js';
import { httpError, image } from './helpers.js';

describe('checkStatusTransition', () => {
  it('knows a target list for every status', () => {
    expect(Object.keys(VALID_STATE_TARGETS).sort()).toEqual([...IMAGE_STATUSES].sort());
  });

  it('allows the lifecycle of an upload, including going back to queued after a failed one', () => {
    expect(checkStatusTransition(image(), 'saving')).toEqual({ ok: true, clearsSize: false });
    expect(checkStatusTransition(image({ status: 'saving' }), 'active').ok).toBe(true);
    expect(checkStatusTransition(image({ status: 'saving' }), 'queued')).toEqual({
      ok: true,
      clearsSize: true,
    });
  });

  it('refuses jumps upstream does not allow', () => {
    expect(checkStatusTransition(image({ status: 'active' }), 'queued')).toEqual({
      ok: false,
      reason: 'invalid_transition',
      message: 'Image status transition from active to queued is not allowed',
    });
    expect(checkStatusTransition(image({ status: 'deleted' }), 'active').ok).toBe(false);
  });

  it('needs both formats before data is saved', () => {
    expect(checkStatusTransition(image({ disk_format: null }), 'saving')).toEqual({
      ok: false,
      reason: 'missing_formats',
      message: 'Property disk_format must be set prior to saving data.',
    });
    expect(
      checkStatusTransition(image({ disk_format: null, container_format: null }), 'importing'),
    ).toMatchObject({
      message: 'Properties disk_format, container_format must be set prior to saving data.',
    });
    expect(checkStatusTransition(image({ disk_format: null }), 'deleted').ok).toBe(true);
  });
});

describe('deactivate and reactivate', () => {
  it('toggle between active and deactivated, and are no-ops when already there', () => {
    expect(deactivatedStatus({ status: 'active' })).toBe('deactivated');
    expect(deactivatedStatus({ status: 'deactivated' })).toBeNull();
    expect(reactivatedStatus({ status: 'deactivated' })).toBe('active');
    expect(reactivatedStatus({ status: 'active' })).toBeNull();
  });

  it('are forbidden in any other status', () => {
    const err = httpError(() => deactivatedStatus({ status: 'queued' }));
    expect([err.status, err.explanation]).toEqual([
      403,
      "Not allowed to deactivate image in status 'queued'",
    ]);
    expect(httpError(() => reactivatedStatus({ status: 'killed' })).explanation).toBe(
      "Not allowed to reactivate image in status 'killed'",
    );
  });
});

describe('deletedStatus', () => {
  const withData = image({
    status: 'active',
    locations: [{ id: 1, url: 'file:///x', metadata: {}, status: 'active' }],
  });

  it('deletes, or leaves data for the scrubber with delayed_delete', () => {
    expect(deletedStatus(withData, false)).toBe('deleted');
    expect(deletedStatus(withData, true)).toBe('pending_delete');
    expect(deletedStatus(image(), true)).toBe('deleted');
  });

  it('refuses protected images', () => {
    const err = httpError(() => deletedStatus({ ...withData, protected: true }, false));
    expect([err.status, err.explanation]).toEqual([
      403,
      `Image ${withData.id} is protected and cannot be deleted.`,
    ]);
  });
});
