import { ChecksumMismatchError } from '../../../../operator/src/image/checksum.js';
import { FormatMismatchError } from '../../../../operator/src/image/transfer-pipeline.js';
import { RETRY_ANNOTATION } from '../../../../operator/src/image/names.js';
import { TerminalError } from '../../../../operator/src/runtime/errors.js';
import { glanceError } from '../../../fakes/glance-images.js';
import { OPERATOR_ACCESS_LABEL } from '../../../../operator/src/api/glance-service-types.js';
import { DATA, DATA_MD5, imageSpec, secret, TIMINGS, World } from './world.js';

/** A failed first transfer, collected by the next pass. */
async function failedTransfer(w: World, error: unknown) {
  w.source.failNext(error);
  return w.reconcileThroughTransfer();
}

describe('Image reconciler: the transfer', () => {
  it('checks the declared checksum and records it as the source digest', async () => {
    const w = new World().apply(imageSpec({}, { checksum: DATA_MD5 }));
    await w.reconcileThroughTransfer();
    expect(w.source.plans[0]?.expected).toEqual({ algorithm: 'md5', hex: DATA_MD5.slice(4) });
    expect(w.status()).toMatchObject({ phase: 'Ready', sourceDigest: DATA_MD5 });
  });

  it('hands a checksumURL to the transfer to read', async () => {
    const w = new World().apply(imageSpec({}, { checksumURL: 'http://images.test/MD5SUMS' }));
    await w.reconcileThroughTransfer();
    expect(w.source.plans[0]).toMatchObject({ checksumURL: 'http://images.test/MD5SUMS' });
    expect(w.source.plans[0]?.expected).toBeUndefined();
  });

  it.each([
    ['ChecksumMismatch', new ChecksumMismatchError('md5 of the source is 00, expected 11')],
    ['FormatMismatch', new FormatMismatchError('the data is qcow2, not raw')],
    ['SourceRefused', new TerminalError('SourceRefused', 'http://images.test/cirros.img answered HTTP 404')],
    [
      'ChecksumNotFound',
      new TerminalError('ChecksumNotFound', 'the checksum file lists no digest for cirros.img'),
    ],
  ])('stalls %s at once, with a Warning Event, and tries no more', async (reason, error) => {
    const w = new World().apply(imageSpec());
    expect(await failedTransfer(w, error)).toEqual({});
    expect(w.status()).toMatchObject({ phase: 'Failed', lastError: error.message });
    expect(w.conditions()).toEqual([`Ready=False/${reason}`, `Stalled=True/${reason}`]);
    expect(w.events.find(reason)).toMatchObject({ type: 'Warning', note: error.message });
    w.quiet();
    expect(await w.reconcile()).toEqual({});
    expect(w.source.plans).toHaveLength(1);
    expect(w.kube.writes).toEqual([]);
  });

  it('tries a terminal failure again when the retry annotation changes', async () => {
    const w = new World().apply(imageSpec());
    await failedTransfer(w, new ChecksumMismatchError('mismatch'));
    w.edit((o) => (o.metadata.annotations = { [RETRY_ANNOTATION]: '1' }));
    await w.reconcileThroughTransfer();
    expect(w.source.plans).toHaveLength(2);
    expect(w.status()).toMatchObject({ phase: 'Ready', attempts: 2 });
    expect(w.status().lastError).toBeUndefined();
  });

  it('retries a transient failure with backoff, not before its time', async () => {
    const w = new World().apply(imageSpec());
    expect(await failedTransfer(w, new Error('the source closed the connection'))).toEqual({
      requeueAfterMs: TIMINGS.retryBaseMs,
    });
    expect(w.conditions()).toEqual(['Ready=False/TransferFailed', 'Reconciling=True/TransferFailed']);
    expect(w.status()).toMatchObject({ phase: 'Retrying', attempts: 1 });
    expect(w.events.find('TransferFailed')?.note).toBe('the source closed the connection; retrying in 5 s');
    w.quiet();
    const early = await w.reconcile();
    expect(early.requeueAfterMs).toBeGreaterThan(0);
    expect(early.requeueAfterMs).toBeLessThanOrEqual(TIMINGS.retryBaseMs);
    expect(w.source.plans).toHaveLength(1);
    expect(w.kube.writes).toEqual([]);
  });

  it('shows the progress of a running transfer, and waits for a slot when all are taken', async () => {
    const w = new World({ maxTransfers: 0 }).apply(imageSpec());
    await w.reconcile();
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.progressMs });
    expect(w.status().phase).toBe('Waiting');
    expect(w.conditions()).toEqual(['Ready=False/WaitingForSlot', 'Reconciling=True/WaitingForSlot']);

    const v = new World().apply(imageSpec());
    const held = v.source.holdNext();
    await v.reconcile();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await v.reconcile()).toEqual({ requeueAfterMs: TIMINGS.progressMs });
    expect(v.status()).toMatchObject({
      phase: 'Uploading',
      progress: { bytes: DATA.length / 2, total: DATA.length, percent: 50 },
    });
    expect(v.condition('Reconciling')).toMatchObject({
      reason: 'Uploading',
      message: `${DATA.length / 2} of ${DATA.length} bytes`,
    });
    held.release();
  });

  it('throws away an upload Glance stored differently and starts over', async () => {
    const w = new World().apply(imageSpec());
    const ended = w.transferEnd();
    await w.reconcile();
    const id = w.status().imageID!;
    await ended;
    w.glance.edit(id, { size: DATA.length - 1 });
    await expect(w.reconcile()).rejects.toThrow(
      `Glance stored ${DATA.length - 1} bytes; ${DATA.length} were sent`,
    );
    expect(w.glance.images.has(id)).toBe(false);
    expect(w.conditions()).toEqual(['Ready=False/Unavailable', 'Reconciling=True/Unavailable']);
    await w.reconcileThroughTransfer();
    expect(w.status().phase).toBe('Ready');
  });

  it('waits while Glance says someone else writes the data', async () => {
    const w = new World();
    const saving = w.glance.put({ name: 'cirros', status: 'saving' }).id;
    w.apply(imageSpec({ adopt: { imageID: saving } }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.progressMs * 2 });
    expect(w.conditions()).toEqual(['Ready=False/GlanceBusy', 'Reconciling=True/GlanceBusy']);
    expect(w.source.plans).toEqual([]);
  });

  it.each([
    [
      'a source whose name resolves to the metadata service',
      { url: 'http://metadata.test/cirros.img' },
      '169.254.169.254',
    ],
    ['a checksum file on loopback', { checksumURL: 'http://127.0.0.1:8080/MD5SUMS' }, '127.0.0.1'],
    ['a proxy on link-local', { proxy: 'http://169.254.10.10:3128' }, '169.254.10.10'],
  ])('stalls SourceNotAllowed for %s before Glance is asked for anything', async (_what, source, address) => {
    const w = new World().apply(imageSpec({}, source));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/SourceNotAllowed', 'Stalled=True/SourceNotAllowed']);
    expect(w.status().lastError).toContain(address);
    expect(w.glance.writes()).toEqual([]);
    expect(w.source.plans).toEqual([]);
  });

  it('stalls a Secret the source names that does not exist, before an image is created in Glance', async () => {
    const w = new World().apply(imageSpec({}, { headersSecretRef: { name: 'headers' } }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/SecretNotFound', 'Stalled=True/SecretNotFound']);
    expect(w.glance.writes()).toEqual([]);
    expect(w.status().imageID).toBeUndefined();
  });

  it('stalls a CA bundle ConfigMap that does not exist, before an image is created in Glance', async () => {
    const w = new World().apply(imageSpec({}, { caBundleRef: { name: 'ca' } }));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/ConfigMapNotFound', 'Stalled=True/ConfigMapNotFound']);
    expect(w.glance.writes()).toEqual([]);
  });

  it('stalls SecretNotAllowed on a headers Secret without the access label, sending the source nothing', async () => {
    const w = new World().apply(imageSpec({}, { headersSecretRef: { name: 'mariadb-root' } }));
    w.kube.seed(secret('mariadb-root', { password: 'root-password' }, false));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/SecretNotAllowed', 'Stalled=True/SecretNotAllowed']);
    expect(w.condition('Stalled')?.message).toBe(
      `Secret ns/mariadb-root lacks the label ${OPERATOR_ACCESS_LABEL}="true": the operator reads only Secrets ` +
        `carrying it; if this one is meant for the operator: kubectl label secret -n ns mariadb-root ` +
        `${OPERATOR_ACCESS_LABEL}=true`,
    );
    expect(w.source.plans).toEqual([]);
    // Refused before anything was created: no empty queued image is left in Glance.
    expect(w.glance.writes()).toEqual([]);
    expect(w.glance.images.size).toBe(0);
    expect(w.status().imageID).toBeUndefined();
  });

  it.each([
    ['headers', { headersSecretRef: { name: 'gs-db-password' } }],
    ['basic auth', { basicAuthSecretRef: { name: 'gs-db-password', usernameKey: 'password' } }],
  ])(
    'stalls SecretNotAllowed on a %s Secret the operator generated for a GlanceService, sending it nowhere',
    async (_what, source) => {
      const w = new World().apply(imageSpec({}, source));
      const base = secret('gs-db-password', { password: 'generated-db-password' });
      const generated = {
        ...base,
        metadata: {
          ...base.metadata,
          labels: {
            ...base.metadata.labels,
            'app.kubernetes.io/managed-by': 'glance-operator',
            'app.kubernetes.io/component': 'credentials',
          },
        },
      };
      w.kube.seed(generated);
      expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
      expect(w.conditions()).toEqual(['Ready=False/SecretNotAllowed', 'Stalled=True/SecretNotAllowed']);
      expect(w.condition('Stalled')?.message).toMatch(/generated for a GlanceService/);
      expect(w.source.plans).toEqual([]);
      expect(w.glance.writes()).toEqual([]);
    },
  );

  it('sends the keys of a labelled headers Secret as headers, and basic auth from a labelled Secret', async () => {
    const w = new World().apply(
      imageSpec({}, { headersSecretRef: { name: 'headers' }, basicAuthSecretRef: { name: 'basic' } }),
    );
    w.kube.seed(
      secret('headers', { 'X-Token': 'for-the-mirror' }),
      secret('basic', { username: 'mirror', password: 'mirror-password' }),
    );
    await w.reconcileThroughTransfer();
    expect(w.source.plans[0]?.access).toMatchObject({
      headers: { 'X-Token': 'for-the-mirror' },
      basicAuth: { username: 'mirror', password: 'mirror-password' },
    });
    expect(w.status().phase).toBe('Ready');
  });

  it('stalls SecretNotAllowed on a basic auth Secret without the access label, sending the source nothing', async () => {
    const w = new World().apply(imageSpec({}, { basicAuthSecretRef: { name: 'basic' } }));
    w.kube.seed(secret('basic', { username: 'mirror', password: 'mirror-password' }, false));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/SecretNotAllowed', 'Stalled=True/SecretNotAllowed']);
    expect(w.source.plans).toEqual([]);
    expect(w.glance.writes()).toEqual([]);
    expect(w.glance.images.size).toBe(0);
  });

  it('stalls a replacement whose new source names an unlabelled Secret before creating the replacement', async () => {
    const w = new World().apply(imageSpec());
    await w.reconcileThroughTransfer();
    expect(w.status().phase).toBe('Ready');
    const served = w.status().imageID;
    w.kube.seed(secret('basic', { username: 'mirror', password: 'mirror-password' }, false));
    w.edit((obj) => {
      obj.spec = imageSpec({}, { url: 'http://images.test/v2.img', basicAuthSecretRef: { name: 'basic' } });
    });
    w.glance.calls.length = 0;
    await w.reconcile();
    expect(w.condition('Stalled')?.reason).toBe('SecretNotAllowed');
    expect(w.glance.writes()).toEqual([]);
    expect(w.status().imageID).toBe(served);
    expect(w.status().pendingImageID).toBeUndefined();
  });
});

describe('Image reconciler: web-download', () => {
  const direct = { decompress: 'none' };

  it('lets Glance fetch a source with nothing to verify, and reports Ready once it has', async () => {
    const w = new World().apply(imageSpec({}, direct));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.progressMs });
    const id = w.status().imageID!;
    expect(w.glance.calls).toContainEqual({ op: 'webDownload', id, body: 'http://images.test/cirros.img' });
    expect(w.status()).toMatchObject({ phase: 'Importing', method: 'web-download' });
    expect(w.conditions()).toEqual(['Ready=False/Importing', 'Reconciling=True/Importing']);
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.progressMs });
    w.glance.store(id, DATA);
    await w.reconcile();
    expect(w.status().phase).toBe('Ready');
    expect(w.events.find('Imported')?.note).toBe(`Glance imported image ${id} (web-download)`);
    expect(w.source.plans).toEqual([]);
  });

  it('streams the source itself when the import ends without data', async () => {
    const w = new World().apply(imageSpec({}, direct));
    await w.reconcile();
    const id = w.status().imageID!;
    w.glance.edit(id, { status: 'queued', os_glance_failed_import: 'file' });
    await w.reconcileThroughTransfer();
    expect(w.events.find('WebDownloadFailed')?.note).toBe(
      'web-download failed (failed stores: file); uploading through the operator',
    );
    expect(w.status()).toMatchObject({ phase: 'Ready', method: 'upload' });
  });

  it('streams the source itself when Glance refuses the URL (Auto)', async () => {
    const w = new World().apply(imageSpec({}, direct));
    w.glance.failNext('webDownload', glanceError(400, 'Glance POST: HTTP 400 port not allowed'));
    await w.reconcileThroughTransfer();
    expect(w.events.find('WebDownloadRefused')?.type).toBe('Warning');
    expect(w.status()).toMatchObject({ phase: 'Ready', method: 'upload' });
  });

  it('stalls when Glance refuses the URL and the spec insists on WebDownload', async () => {
    const w = new World().apply(imageSpec({}, { ...direct, importMethod: 'WebDownload' }));
    w.glance.failNext('webDownload', glanceError(400, 'Glance POST: HTTP 400 port not allowed'));
    expect(await w.reconcile()).toEqual({ requeueAfterMs: TIMINGS.stalledRetryMs });
    expect(w.conditions()).toEqual(['Ready=False/GlanceRefused', 'Stalled=True/GlanceRefused']);
  });

  it('streams through the operator when Glance does not offer web-download', async () => {
    const w = new World().apply(imageSpec({}, direct));
    w.glance.importMethodsOffered = ['glance-direct'];
    await w.reconcileThroughTransfer();
    expect(w.glance.ops()).not.toContain('webDownload');
    expect(w.status()).toMatchObject({ phase: 'Ready', method: 'upload' });
  });
});
