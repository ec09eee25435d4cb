import type { GlanceService, GlanceServiceSpec } from '../api/glance-service-types.js';
import { TerminalError } from '../runtime/errors.js';
import type { KeystoneAdmin } from './admin-clients.js';
import { notify, type CleanupContext, type ReconcileContext, type StepCondition } from './context.js';
import { OWNER_ATTRIBUTE, type KeystoneService, type Owned } from './keystone-client.js';
import { claim, formatMark, isMarkedBy, markOf, parseMark, type Claim } from './ownership.js';
import { serviceUrl } from './names.js';

export const SERVICE_TYPE = 'image';
export const INTERFACES = ['public', 'internal', 'admin'] as const;
export type EndpointUrls = Record<(typeof INTERFACES)[number], string>;

export function endpointUrls(gs: GlanceService, spec: GlanceServiceSpec): EndpointUrls {
  const fallback = serviceUrl(gs);
  return {
    public: spec.endpoints.public ?? fallback,
    internal: spec.endpoints.internal ?? fallback,
    admin: spec.endpoints.admin ?? fallback,
  };
}

async function serviceDomainId(keystone: KeystoneAdmin, spec: GlanceServiceSpec): Promise<string> {
  const domain = await keystone.findDomain(spec.keystone.serviceDomainName);
  if (!domain) {
    throw new TerminalError(
      'KeystoneDomainNotFound',
      `Keystone has no domain "${spec.keystone.serviceDomainName}" (spec.keystone.serviceDomainName)`,
    );
  }
  return domain.id;
}

async function findService(keystone: KeystoneAdmin, name: string, preferId?: string) {
  const matches = (await keystone.listServices(SERVICE_TYPE)).filter((s) => s.name === name);
  return matches.find((s) => s.id === preferId) ?? matches[0];
}

/**
 * Step 2: project, user (its password checked by logging in with it), the admin role on the project, the
 * service of type image, the region, and one enabled endpoint per interface with the right URL. Anything
 * missing or changed by hand is put back, with an Event. The service id and the URLs go into the status.
 */
export async function reconcileKeystone(ctx: ReconcileContext, password: string): Promise<StepCondition> {
  const { keystone } = ctx.sessions;
  const k = ctx.spec.keystone;
  const urls = endpointUrls(ctx.gs, ctx.spec);
  const domainId = await serviceDomainId(keystone, ctx.spec);

  let project = await keystone.findProject(k.projectName, domainId);
  if (!project) {
    project = await keystone.createProject(k.projectName, domainId, 'Service Project');
    await notify(ctx, 'KeystoneProjectCreated', `Created Keystone project ${k.projectName}`);
  }

  // Both claims are decided before anything is written, so a refused user or service is left as it was.
  const mark = formatMark(markOf(ctx.gs));
  let user = await keystone.findUser(k.userName, domainId);
  const userClaim = user && claimOwned(ctx, user, `Keystone user ${k.userName}`);
  const found = await findService(keystone, k.serviceName, ctx.gs.status?.serviceId);
  const serviceClaim = found && claimOwned(ctx, found, `Keystone service ${k.serviceName}`);

  if (!user) {
    user = await keystone.createUser(k.userName, domainId, password, mark);
    await notify(ctx, 'KeystoneUserCreated', `Created Keystone user ${k.userName}`);
  } else {
    if (userClaim !== 'ours') await noteClaim(ctx, userClaim, `Keystone user ${k.userName}`);
    if (userClaim === 'take-back') await keystone.updateUser(user.id, { [OWNER_ATTRIBUTE]: mark });
    if (!user.enabled) {
      await keystone.updateUser(user.id, { enabled: true });
      await notify(ctx, 'KeystoneUserEnabled', `Re-enabled Keystone user ${k.userName}`);
    }
    const credentials = { username: k.userName, password, userDomainName: k.serviceDomainName };
    if (!(await keystone.checkPassword(credentials))) {
      await keystone.updateUser(user.id, { password });
      await notify(ctx, 'KeystonePasswordChanged', `Set the password of Keystone user ${k.userName}`);
    }
  }

  const role = await keystone.findRole('admin');
  if (!role) throw new TerminalError('KeystoneRoleNotFound', 'Keystone has no role "admin"');
  if (!(await keystone.hasProjectRole(project.id, user.id, role.id))) {
    await keystone.grantProjectRole(project.id, user.id, role.id);
    await notify(
      ctx,
      'KeystoneRoleGranted',
      `Granted role admin on project ${k.projectName} to user ${k.userName}`,
    );
  }

  const service = await ensureService(ctx, found, serviceClaim, mark);

  if (!(await keystone.getRegion(k.region))) {
    await keystone.createRegion(k.region, regionDescription(ctx));
    await notify(ctx, 'KeystoneRegionCreated', `Created Keystone region ${k.region}`);
  }

  const endpoints = (await keystone.listEndpoints(service.id)).filter((e) => e.region_id === k.region);
  for (const iface of INTERFACES) {
    const url = urls[iface];
    const [first, ...extra] = endpoints.filter((e) => e.interface === iface);
    if (!first) {
      await keystone.createEndpoint({
        interface: iface,
        url,
        region_id: k.region,
        service_id: service.id,
        enabled: true,
        [OWNER_ATTRIBUTE]: mark,
      });
      await notify(ctx, 'KeystoneEndpointCreated', `Created the ${iface} endpoint ${url} in ${k.region}`);
    } else if (first.url !== url || !first.enabled) {
      await keystone.updateEndpoint(first.id, { url, enabled: true });
      await notify(
        ctx,
        'KeystoneEndpointUpdated',
        `Set the ${iface} endpoint in ${k.region} to ${url} (was ${first.url})`,
      );
    }
    for (const e of extra) {
      await keystone.deleteEndpoint(e.id);
      await notify(
        ctx,
        'KeystoneEndpointDeleted',
        `Deleted a duplicate ${iface} endpoint ${e.url} in ${k.region}`,
      );
    }
  }
  ctx.status.serviceId = service.id;
  ctx.status.endpoints = urls;
  return {
    status: 'True',
    reason: 'Registered',
    message: `Service ${k.serviceName} (${service.id}) with public, internal and admin endpoints in ${k.region}`,
  };
}

async function ensureService(
  ctx: ReconcileContext,
  service: KeystoneService | undefined,
  serviceClaim: Claim | undefined,
  mark: string,
): Promise<KeystoneService> {
  const { keystone } = ctx.sessions;
  const k = ctx.spec.keystone;
  if (!service) {
    const created = await keystone.createService({
      name: k.serviceName,
      type: SERVICE_TYPE,
      description: k.serviceDescription,
      [OWNER_ATTRIBUTE]: mark,
    });
    await notify(ctx, 'KeystoneServiceCreated', `Created Keystone service ${k.serviceName} of type image`);
    return created;
  }
  if (serviceClaim !== 'ours') await noteClaim(ctx, serviceClaim, `Keystone service ${k.serviceName}`);
  if (serviceClaim === 'take-back') await keystone.updateService(service.id, { [OWNER_ATTRIBUTE]: mark });
  if (!service.enabled || (service.description ?? '') !== k.serviceDescription) {
    await keystone.updateService(service.id, { enabled: true, description: k.serviceDescription });
    await notify(ctx, 'KeystoneServiceUpdated', `Restored Keystone service ${k.serviceName}`);
  }
  return service;
}

function claimOwned(ctx: ReconcileContext, object: Owned, what: string): Claim {
  return claim(
    ctx.gs,
    parseMark(object[OWNER_ATTRIBUTE]),
    ctx.spec.keystone.adopt,
    what,
    'spec.keystone.adopt',
  );
}

/** An Event on each pass that uses an object it did not create, so the choice stays visible. */
async function noteClaim(ctx: ReconcileContext, c: Claim | undefined, what: string): Promise<void> {
  if (c === 'take-back') {
    await notify(
      ctx,
      'KeystoneTakenBack',
      `Took back ${what}, left by an earlier GlanceService of this name`,
    );
  } else if (
    c === 'adopted' &&
    !ctx.gs.status?.conditions?.some((x) => x.type === 'KeystoneReady' && x.status === 'True')
  ) {
    await notify(ctx, 'KeystoneAdopted', `Using ${what}, which it did not create: it is never deleted`);
  }
}

const isOurs = (ctx: CleanupContext, object: Owned) => isMarkedBy(ctx.gs, object[OWNER_ATTRIBUTE]);

/**
 * Marks a region this GlanceService created, so that deletion can tell it from one that was there before (a
 * region is shared by every service of a cloud): kept in Keystone itself, it survives a restart at any line.
 */
function regionDescription(ctx: Pick<ReconcileContext, 'gs'>): string {
  return `Created by glance-operator for GlanceService ${ctx.gs.metadata.namespace}/${ctx.gs.metadata.name}`;
}

/**
 * Always on delete, and only what carries this GlanceService's mark: its endpoints in this region go; the service
 * and the user go when no other region still has endpoints of the service (another GlanceService may serve it
 * there); the region goes when this GlanceService created it and no endpoint of any service is left in it. An
 * adopted user or service stays, with an Event that says so.
 */
export async function deleteKeystoneRegistration(
  ctx: CleanupContext,
  keystone: KeystoneAdmin,
): Promise<void> {
  const k = ctx.spec.keystone;
  const kept: string[] = [];
  const service = await findService(keystone, k.serviceName, ctx.gs.status?.serviceId);
  if (service) {
    const ours = isOurs(ctx, service);
    const endpoints = await keystone.listEndpoints(service.id);
    const mine = endpoints.filter((e) => e.region_id === k.region && (ours || isOurs(ctx, e)));
    for (const e of mine) await keystone.deleteEndpoint(e.id);
    if (endpoints.some((e) => !mine.includes(e))) {
      await notify(
        ctx,
        'KeystoneEndpointsDeleted',
        `Deleted its endpoints in ${k.region}; the service keeps its other endpoints`,
      );
      await deleteOwnRegion(ctx, keystone);
      return;
    }
    if (ours) await keystone.deleteService(service.id);
    else kept.push(`service ${k.serviceName}`);
  }
  const user = await keystone.findUser(k.userName, await serviceDomainId(keystone, ctx.spec));
  if (user && isOurs(ctx, user)) await keystone.deleteUser(user.id);
  else if (user) kept.push(`user ${k.userName}`);
  await notify(
    ctx,
    'KeystoneDeregistered',
    kept.length
      ? `Deleted its Keystone endpoints and what it created; kept ${kept.join(' and ')}, which it did not create`
      : `Deleted Keystone service ${k.serviceName}, its endpoints and user ${k.userName}`,
  );
  await deleteOwnRegion(ctx, keystone);
}

async function deleteOwnRegion(ctx: CleanupContext, keystone: KeystoneAdmin): Promise<void> {
  const { region } = ctx.spec.keystone;
  const found = await keystone.getRegion(region);
  if (found?.description !== regionDescription(ctx)) return;
  if ((await keystone.listRegionEndpoints(region)).length > 0) return;
  await keystone.deleteRegion(region);
  await notify(ctx, 'KeystoneRegionDeleted', `Deleted Keystone region ${region}, which it had created`);
}
