import {
  changedConditions,
  findCondition,
  kubeTime,
  nextCondition,
  summarize,
  type Condition,
} from '../../../../operator/src/runtime/conditions.js';

const t0 = new Date('2026-01-02T03:04:05.678Z');
const t1 = new Date('2026-01-02T03:09:00.000Z');

describe('conditions', () => {
  it('writes whole seconds, as metav1.Time reads back', () => {
    expect(kubeTime(t0)).toBe('2026-01-02T03:04:05Z');
  });

  it('keeps lastTransitionTime while the status stays, and moves it when the status changes', () => {
    const first = nextCondition(
      [],
      { type: 'DatabaseReady', status: 'False', reason: 'Unavailable', message: 'a' },
      1,
      t0,
    );
    expect(first.lastTransitionTime).toBe('2026-01-02T03:04:05Z');
    const sameStatus = nextCondition(
      [first],
      { type: 'DatabaseReady', status: 'False', reason: 'Other', message: 'b' },
      2,
      t1,
    );
    expect(sameStatus).toMatchObject({
      lastTransitionTime: first.lastTransitionTime,
      reason: 'Other',
      observedGeneration: 2,
    });
    const flipped = nextCondition(
      [sameStatus],
      { type: 'DatabaseReady', status: 'True', reason: 'Ok', message: '' },
      2,
      t1,
    );
    expect(flipped.lastTransitionTime).toBe('2026-01-02T03:09:00Z');
  });

  it('is Ready only when every step is, without Reconciling or Stalled', () => {
    const c = summarize(
      [],
      {
        steps: [
          { type: 'A', status: 'True', reason: 'Ok', message: '' },
          { type: 'B', status: 'True', reason: 'Ok', message: '' },
        ],
      },
      3,
      t0,
    );
    expect(c.map((x) => [x.type, x.status])).toEqual([
      ['Ready', 'True'],
      ['A', 'True'],
      ['B', 'True'],
    ]);
    expect(c.every((x) => x.observedGeneration === 3)).toBe(true);
  });

  it('reports the first unready step as Reconciling, with its reason on Ready', () => {
    const c = summarize(
      [],
      {
        steps: [
          { type: 'A', status: 'True', reason: 'Ok', message: '' },
          { type: 'B', status: 'False', reason: 'MigrationPending', message: 'waiting for the Job' },
          { type: 'C', status: 'False', reason: 'Later', message: '' },
        ],
      },
      1,
      t0,
    );
    expect(findCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'MigrationPending' });
    expect(findCondition(c, 'Reconciling')).toMatchObject({
      status: 'True',
      reason: 'MigrationPending',
      message: 'B: waiting for the Job',
    });
    expect(findCondition(c, 'Stalled')).toBeUndefined();
  });

  it('reports Stalled instead of Reconciling when a person must act', () => {
    const c = summarize(
      [],
      { steps: [], stalled: { reason: 'KeystoneAuthFailed', message: 'fix the Secret' } },
      1,
      t0,
    );
    expect(findCondition(c, 'Stalled')).toMatchObject({ status: 'True', reason: 'KeystoneAuthFailed' });
    expect(findCondition(c, 'Ready')).toMatchObject({ status: 'False', reason: 'KeystoneAuthFailed' });
    expect(findCondition(c, 'Reconciling')).toBeUndefined();
  });

  it('lists the conditions whose status or reason changed, not those whose message or time did', () => {
    const before: Condition[] = summarize(
      [],
      { steps: [{ type: 'A', status: 'False', reason: 'X', message: 'm' }] },
      1,
      t0,
    );
    const same = summarize(
      before,
      { steps: [{ type: 'A', status: 'False', reason: 'X', message: 'other' }] },
      2,
      t1,
    );
    expect(changedConditions(before, same)).toEqual([]);
    const after = summarize(
      before,
      { steps: [{ type: 'A', status: 'True', reason: 'Ok', message: '' }] },
      2,
      t1,
    );
    expect(changedConditions(before, after).map((c) => c.type)).toEqual(['Ready', 'A']);
  });
});
