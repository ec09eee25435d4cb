import { jest } from '@jest/globals';
import { loadStackEnv, STACK_ENV_PATH } from './stack-env.js';

// Real services are slow next to unit tests: the OpenStack CLIs alone start in ~3 s.
jest.setTimeout(180_000);

// Integration tests never skip silently: without a stack every integration file fails here with a clear message.
beforeAll(async () => {
  const env = loadStackEnv();
  const keystone = env.OS_AUTH_URL;
  try {
    const res = await fetch(`${keystone}`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
  } catch (err) {
    throw new Error(
      `The local stack described by ${STACK_ENV_PATH} is not answering (Keystone at ${keystone}: ${String(err)}). ` +
        'Run `npm run stack -- up` and try again.',
    );
  }
});
