import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as tick } from 'node:timers/promises';
import { BodyScavenger, SCAVENGE_EVERY_BYTES } from '../../../../api-server/src/store/body-scavenger.js';

const PIECE = 64 * 1024;
const MIB = 1024 * 1024;

/** Feeds `total` bytes of fresh body-like pieces (own backing store each, dropped at once) to `scavenger`. */
function receive(scavenger: BodyScavenger, total: number): number {
  let peak = 0;
  for (let sent = 0; sent < total; sent += PIECE) {
    const piece = Buffer.allocUnsafeSlow(PIECE);
    piece[0] = 1;
    scavenger.passed(piece.length);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
  }
  return peak;
}

describe('BodyScavenger', () => {
  it('frees the dead pieces of a body as it arrives, so they never add up', () => {
    const before = process.memoryUsage().arrayBuffers;
    const peak = receive(new BodyScavenger(), 32 * MIB);
    // Without it the 32 MiB of pieces stay allocated until V8 decides to collect (tens of MB in a server). V8 frees
    // dead backing stores on a helper thread after each scavenge, so a few periods may be pending at a time.
    expect(peak - before).toBeLessThan(4 * SCAVENGE_EVERY_BYTES);
  });

  it('runs one scavenge per SCAVENGE_EVERY_BYTES received', async () => {
    let minor = 0;
    const observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const { kind } = (entry as unknown as { detail: { kind: number } }).detail;
        if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      }
    });
    observer.observe({ entryTypes: ['gc'] });
    try {
      receive(new BodyScavenger(), 8 * SCAVENGE_EVERY_BYTES);
      await tick();
      await tick();
      expect(minor).toBeGreaterThanOrEqual(8);
    } finally {
      observer.disconnect();
    }
  });
});
