import { Writable } from 'node:stream';
import { pino } from 'pino';
import { readIni } from '../../../../api-server/src/config/ini.js';
import { notifierFromConfig } from '../../../../api-server/src/notify/index.js';

// The log driver needs no broker: what it logs is what would have been published.
function logNotifier(disabled = ''): { notifier: ReturnType<typeof notifierFromConfig>; lines: string[] } {
  const lines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  const { doc } = readIni(
    `[DEFAULT]\ndisabled_notifications = ${disabled}\n[oslo_messaging_notifications]\ndriver = log\n`,
    'glance-api.conf',
  );
  return { notifier: notifierFromConfig(doc, logger), lines };
}

describe('Notifier', () => {
  test('a payload given as a function is built only for an event that is sent, once', () => {
    const { notifier, lines } = logNotifier('image.update');
    let built = 0;
    const build = () => {
      built += 1;
      return { id: 'i' };
    };
    notifier.notify('image.update', build);
    expect(built).toBe(0);
    notifier.notify('image.create', build);
    expect(built).toBe(1);
    expect(lines.filter((l) => l.includes('oslo.messaging.notification.image.create'))).toHaveLength(1);
  });

  test('a payload that cannot be built is logged and sends nothing, without failing the caller', () => {
    const { notifier, lines } = logNotifier();
    expect(() =>
      notifier.notify('image.create', () => {
        throw new Error('broken record');
      }),
    ).not.toThrow();
    expect(lines.some((l) => l.includes('notification not sent') && l.includes('broken record'))).toBe(true);
    expect(lines.some((l) => l.includes('oslo.messaging.notification.image.create'))).toBe(false);
  });
});
