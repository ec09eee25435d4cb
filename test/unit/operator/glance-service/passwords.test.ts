import type { V1Secret } from '@kubernetes/client-node';
import { OPERATOR_ACCESS_LABEL } from '../../../../operator/src/api/glance-service-types.js';
import { GlanceWorld, NAME, ref, secret } from './world.js';

describe('GlanceService reconciler: passwords', () => {
  let w: GlanceWorld;
  beforeEach(() => {
    w = new GlanceWorld();
    w.create();
  });

  it('keeps a generated password across reconciles and uses a Secret that already holds one', async () => {
    const w2 = new GlanceWorld();
    w2.kube.seed(secret(`${NAME}-db-password`, { password: 'From-An-Earlier-Life-0123456789ab' }));
    w2.create();
    await w2.reconcile();
    expect(w2.db.accepts('glance', '%', 'From-An-Earlier-Life-0123456789ab')).toBe(true);
    // Only the Keystone password was generated.
    expect(w2.events.events.filter((e) => e.reason === 'PasswordGenerated').map((e) => e.note)).toEqual([
      `Generated the Keystone password into Secret ${NAME}-keystone-password`,
    ]);
  });

  it('uses referenced password Secrets instead of generating, and applies a changed one everywhere', async () => {
    w.kube.seed(
      secret('db-pw', { password: 'Db-Pa$$word-1' }),
      secret('ks-pw', { password: 'Ks-Password-1' }),
    );
    const spec = w.spec();
    const withRefs = (db: string, ks: string) => ({
      ...spec,
      database: { ...(spec.database as object), passwordSecretRef: { name: db } },
      keystone: { ...(spec.keystone as object), passwordSecretRef: { name: ks } },
    });
    w.update(withRefs('db-pw', 'ks-pw'));
    await w.reconcile();
    expect(w.secretValue(`${NAME}-db-password`, 'password')).toBeUndefined();
    expect(w.secretValue(`${NAME}-keystone-password`, 'password')).toBeUndefined();
    expect(w.events.find('PasswordGenerated')).toBeUndefined();
    expect(w.db.accepts('glance', 'localhost', 'Db-Pa$$word-1')).toBe(true);
    expect(w.keystone.user('glance')?.password).toBe('Ks-Password-1');
    // URL-encoded in the connection string, `$` doubled for oslo.config in the Keystone password.
    expect(w.secretValue(`${NAME}-config`, 'glance-api.conf')).toContain('glance:Db-Pa%24%24word-1@');
    const hash = w.gs()?.status?.configHash;

    w.kube.seed(
      secret('db-pw-2', { password: 'Db-Password-2' }),
      secret('ks-pw-2', { password: 'Ks-Password-2' }),
    );
    w.update(withRefs('db-pw-2', 'ks-pw-2'));
    w.clearWrites();
    await w.reconcile();
    expect(w.db.accepts('glance', '%', 'Db-Password-2')).toBe(true);
    expect(w.keystone.user('glance')?.password).toBe('Ks-Password-2');
    expect(w.events.reasons()).toEqual(
      expect.arrayContaining(['DatabasePasswordChanged', 'KeystonePasswordChanged', 'SecretUpdated']),
    );
    expect(w.gs()?.status?.configHash).not.toBe(hash);
    expect(w.deployment()?.spec?.template.metadata?.annotations?.['glance.stackops.dev/config-hash']).toBe(
      w.gs()?.status?.configHash,
    );
    // A password change needs no new migration Job.
    expect(w.jobs()).toHaveLength(1);
  });

  it('reads the password a racing reconcile generated first rather than writing its own', async () => {
    const winner = secret(`${NAME}-db-password`, { password: 'Written-By-The-Other-Reconcile-01' });
    // The other reconcile creates the Secret between this one's read and its create.
    const read = w.kube.read.bind(w.kube);
    let raced = false;
    w.kube.read = (async (r: Parameters<typeof read>[0]) => {
      const found = await read(r);
      if (!raced && r.name === `${NAME}-db-password`) {
        raced = true;
        w.kube.seed(winner);
      }
      return found;
    }) as typeof w.kube.read;
    await w.reconcile();
    expect(w.secretValue(`${NAME}-db-password`, 'password')).toBe('Written-By-The-Other-Reconcile-01');
    expect(w.db.accepts('glance', '%', 'Written-By-The-Other-Reconcile-01')).toBe(true);
    expect(w.events.events.filter((e) => e.reason === 'PasswordGenerated')).toHaveLength(1);
  });

  it('labels the password Secrets it generates for the operator, so that Images can read the Keystone one', async () => {
    await w.reconcile();
    for (const name of [`${NAME}-db-password`, `${NAME}-keystone-password`]) {
      expect(w.kube.get<V1Secret>(ref('Secret', name))?.metadata.labels?.[OPERATOR_ACCESS_LABEL]).toBe(
        'true',
      );
    }
  });

  it('labels a password Secret it generated before Secrets needed the label, keeping its password', async () => {
    const uid = w.gs()?.metadata.uid ?? '';
    const owner = { apiVersion: 'glance.stackops.dev/v1alpha1', kind: 'GlanceService', name: NAME, uid };
    const earlier = secret(`${NAME}-db-password`, { password: 'Generated-By-An-Earlier-Operator' }, false);
    w.kube.seed({
      ...earlier,
      metadata: { ...earlier.metadata, ownerReferences: [{ ...owner, controller: true }] },
    });
    await w.reconcile();
    expect(w.condition('DatabaseReady')?.status).toBe('True');
    expect(w.db.accepts('glance', '%', 'Generated-By-An-Earlier-Operator')).toBe(true);
    const labels = w.kube.get<V1Secret>(ref('Secret', `${NAME}-db-password`))?.metadata.labels;
    expect(labels?.[OPERATOR_ACCESS_LABEL]).toBe('true');
  });

  it("refuses someone else's unlabelled Secret of a generated password's name, and uses it nowhere", async () => {
    w.kube.seed(secret(`${NAME}-db-password`, { password: 'The-Password-Of-Something-Else' }, false));
    await w.reconcile();
    expect(w.condition('Stalled')?.reason).toBe('SecretNotAllowed');
    expect(w.condition('DatabaseReady')?.message).toContain(
      `Secret ${w.gs()?.metadata.namespace}/${NAME}-db-password`,
    );
    expect(w.db.accepts('glance', '%', 'The-Password-Of-Something-Else')).toBe(false);
    expect(w.externalWrites()).toEqual([]);
    expect(w.kube.get<V1Secret>(ref('Secret', `${NAME}-db-password`))?.metadata.labels).toBeUndefined();
  });
});
