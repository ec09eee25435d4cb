import http from 'node:http';
import { z } from 'zod';
import { OPERATOR_ACCESS_LABEL } from '../../operator/src/api/glance-service-types.js';
import { IMAGE } from '../../operator/src/api/image-types.js';
import { serveFile } from '../../test/harness/demo/image-server.js';
import { removeAll } from '../../test/harness/demo/wait-ready.js';
import { adminTokenFromStack } from '../../test/harness/keystone.js';
import { stackValue } from '../../test/harness/stack-env.js';
import { hashFile } from '../baselines.js';
import { randomFile } from '../data.js';
import { GlanceClient } from '../glance.js';
import { operatorNamespace } from '../glance-service-run.js';
import { apply, installCrds, kubeFromStack, suffix, watchUntilReady, type Kube } from '../kube.js';
import {
  describeBytes,
  measurement,
  ratio,
  type BenchContext,
  type RunnableScenario,
  type ScenarioOutcome,
} from '../scenario.js';
import { mibPerSecond } from '../stats.js';
import { TARGETS } from '../targets.js';

const READY_TIMEOUT_MS = 30 * 60_000;
const CREDENTIALS = 'bench-cloud';

const imageStatusSchema = z.object({
  status: z.object({ imageID: z.string(), size: z.number(), checksum: z.string() }),
});

/** The raw transfer: GET the URL and stream the response into the same PUT a plain client makes. */
function rawTransfer(client: GlanceClient, url: string, id: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const length = Number(res.headers['content-length']);
        if (res.statusCode !== 200 || !Number.isSafeInteger(length)) {
          res.resume();
          reject(
            new Error(`${url}: HTTP ${res.statusCode}, Content-Length ${res.headers['content-length']}`),
          );
          return;
        }
        client.upload(id, res, length).then(() => resolve(length), reject);
      })
      .on('error', reject);
  });
}

async function timedRaw(
  ctx: BenchContext,
  client: GlanceClient,
  url: string,
  expected: { bytes: number; md5: string },
): Promise<number> {
  const start = performance.now();
  const id = await client.createImage('bench-image-transfer-raw');
  const remove = ctx.cleanups.add(`image ${id}`, () => client.deleteImage(id));
  try {
    await rawTransfer(client, url, id);
    const ms = performance.now() - start;
    const image = await client.show(id);
    if (image.status !== 'active' || image.size !== expected.bytes || image.checksum !== expected.md5) {
      throw new Error(
        `raw transfer stored ${image.size} bytes, md5 ${image.checksum}, status ${image.status}`,
      );
    }
    return ms;
  } finally {
    await remove();
  }
}

/** An Image with nothing but the source URL and the formats: the operator's defaults do the rest. */
async function timedOperator(
  kube: Kube,
  namespace: string,
  name: string,
  url: string,
  apiUrl: string,
  expected: { bytes: number; md5: string },
): Promise<number> {
  const image = {
    apiVersion: `${IMAGE.group}/${IMAGE.version}`,
    kind: IMAGE.kind,
    metadata: { name, namespace },
    spec: {
      cloud: {
        authUrl: stackValue('OS_AUTH_URL'),
        credentialsSecretRef: { name: CREDENTIALS },
        imageUrl: apiUrl,
      },
      name: `bench-image-transfer-${name}`,
      diskFormat: 'raw',
      containerFormat: 'bare',
      source: { url },
    },
  };
  let start = 0;
  const ready = await watchUntilReady(kube, IMAGE, namespace, name, READY_TIMEOUT_MS, async () => {
    start = performance.now();
    await apply(kube, image);
  });
  const got = imageStatusSchema.parse(
    await kube.custom.getNamespacedCustomObject({ ...IMAGE, namespace, name }),
  );
  if (got.status.size !== expected.bytes || got.status.checksum !== expected.md5) {
    throw new Error(`the operator stored ${got.status.size} bytes, md5 ${got.status.checksum}`);
  }
  return ready - start;
}

export const operatorImageTransfer: RunnableScenario = {
  kind: 'runnable',
  id: 'operator-image-transfer',
  title: (ctx) =>
    `Operator: Image of a ${describeBytes(ctx.sizes.uploadBytes)} file from a local URL → Ready, ` +
    'vs the raw transfer of the same file, our api-server',
  async run(ctx): Promise<ScenarioOutcome> {
    const bytes = ctx.sizes.uploadBytes;
    const file = await randomFile(ctx.workdir, bytes);
    const { md5 } = await hashFile(file);
    const expected = { bytes, md5 };
    const kube = kubeFromStack();
    await installCrds(kube);
    // The operator runs on this machine here; the Image's source is served on loopback.
    const server = await serveFile(file, '127.0.0.1');
    const stopServer = ctx.cleanups.add('the image file server', () => server.close());
    try {
      // The operator refuses loopback unless its URL policy allows it: this source, the stack's Keystone and
      // our api-server, each by its port.
      const port = (url: string) => new URL(url).port || '80';
      const allowed = [server.url, stackValue('OS_AUTH_URL'), ctx.ours.url].map(
        (u) => `127.0.0.1:${port(u)}`,
      );
      const allow = { URL_POLICY_ALLOW: allowed.join(',') };
      const space = await operatorNamespace(
        kube,
        ctx.cleanups,
        `glance-bench-img-${suffix()}`,
        (ns) => removeAll(kube.custom, IMAGE, ns, () => undefined, 300_000),
        allow,
      );
      try {
        const secret = {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: CREDENTIALS,
            namespace: space.namespace,
            labels: { [OPERATOR_ACCESS_LABEL]: 'true' },
          },
          stringData: {
            username: stackValue('OS_USERNAME'),
            password: stackValue('OS_PASSWORD'),
            project: stackValue('OS_PROJECT_NAME'),
          },
        };
        await apply(kube, secret);
        const client = new GlanceClient(ctx.ours, adminTokenFromStack);
        await adminTokenFromStack();
        const samples = { operator: [] as number[], raw: [] as number[] };
        for (let rep = 0; rep < ctx.repetitions; rep++) {
          const runOperator = async () => {
            const ms = await Promise.race([
              timedOperator(kube, space.namespace, `rep-${rep}`, server.url, ctx.ours.url, expected),
              space.operator.exited,
            ]);
            samples.operator.push(ms);
            await removeAll(kube.custom, IMAGE, space.namespace, () => undefined, 300_000);
          };
          const runRaw = async () => void samples.raw.push(await timedRaw(ctx, client, server.url, expected));
          // The one that goes first alternates, as the servers do in the other scenarios.
          for (const step of rep % 2 === 0 ? [runOperator, runRaw] : [runRaw, runOperator]) await step();
          ctx.progress(`operator-image-transfer: repetition ${rep + 1}/${ctx.repetitions} done`);
        }
        const operator = measurement('operator', 'Image apply → Ready (operator)', 'ms', samples.operator);
        const raw = measurement('raw', 'raw: GET the URL, PUT it (no operator)', 'ms', samples.raw);
        const rates = [
          measurement(
            'operator-rate',
            'operator, throughput',
            'MiB/s',
            samples.operator.map((ms) => mibPerSecond(bytes, ms)),
          ),
          measurement(
            'raw-rate',
            'raw, throughput',
            'MiB/s',
            samples.raw.map((ms) => mibPerSecond(bytes, ms)),
          ),
        ];
        return {
          measurements: [operator, raw, ...rates],
          checks: [ratio('operator ÷ raw (time)', operator, raw, TARGETS.imageTransferVsRaw)],
          notes: [
            `our api-server at ${ctx.ours.url} (file store), reached by the Image's cloud.imageUrl with the ` +
              "stack admin's credentials in a Secret; the spec sets only the URL and the formats (so the " +
              'operator streams it: decompress auto, no checksum); the file is served by a local HTTP server ' +
              'with Content-Length from the page cache',
            'operator: from the apply of the Image to the watch event with Ready=True (token, create, transfer, ' +
              'status); raw: POST /v2/images, then the GET streamed into PUT .../file with Content-Length, to ' +
              'the 204; both checked for size and md5',
          ],
        };
      } finally {
        await space.cleanup();
      }
    } finally {
      await stopServer();
    }
  },
};
