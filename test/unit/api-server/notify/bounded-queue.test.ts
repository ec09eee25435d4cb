import { BoundedQueue } from '../../../../api-server/src/notify/bounded-queue.js';

describe('the bounded notification buffer', () => {
  test('holds its capacity, drops the oldest and reports each drop episode once', () => {
    const events: string[] = [];
    const q = new BoundedQueue<number>(3, {
      onDropStart: (capacity) => events.push(`start ${capacity}`),
      onDropEnd: (n) => events.push(`end ${n}`),
    });
    for (let i = 1; i <= 7; i++) q.push(i);
    expect(q.size).toBe(3);
    expect(q.dropped).toBe(4);
    expect(events).toEqual(['start 3']);
    expect(q.take(10)).toEqual([5, 6, 7]);
    expect(events).toEqual(['start 3', 'end 4']);
    q.push(8);
    q.push(9);
    q.push(10);
    q.push(11);
    expect(events).toEqual(['start 3', 'end 4', 'start 3']);
    expect(q.dropped).toBe(5);
  });

  test('items given back go to the front in order, as far as the bound allows', () => {
    const q = new BoundedQueue<number>(4);
    q.push(1);
    q.push(2);
    q.push(3);
    const batch = q.take(2);
    q.push(4);
    q.push(5);
    q.unshiftAll(batch);
    expect(q.size).toBe(4);
    expect(q.dropped).toBe(1);
    expect(q.take(4)).toEqual([2, 3, 4, 5]);
  });

  test('dropWhile counts what ran out of retries', () => {
    const q = new BoundedQueue<number>(10);
    [1, 2, 3, 4].forEach((n) => q.push(n));
    expect(q.dropWhile((n) => n < 3)).toBe(2);
    expect(q.peek()).toBe(3);
    expect(q.dropped).toBe(2);
  });

  test('stays correct across many pushes and shifts (compaction)', () => {
    const q = new BoundedQueue<number>(5000);
    for (let i = 0; i < 20000; i++) {
      q.push(i);
      if (i % 2 === 0) q.shift();
    }
    expect(q.size).toBe(5000);
    expect(q.peek()).toBe(15000);
    expect(q.dropped).toBe(5000);
  });

  test('refuses a capacity that is not a positive integer', () => {
    expect(() => new BoundedQueue<number>(0)).toThrow(RangeError);
  });
});
