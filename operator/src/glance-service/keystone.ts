import type { GlanceService, GlanceServiceSpec } from '../api/glance-service-types.js';
import { TerminalError } from '../runtime/errors.js';
import type { KeystoneAdmin } from './admin-clients.js';
import { notify, type CleanupContext, type ReconcileContext, type StepCondition } from './context.js';
import type { KeystoneService } from './keystone-client.js';
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

  let user = await keystone.findUser(k.userName, domainId);
  if (!user) {
    user = await keystone.createUser(k.userName, domainId, password);
    await notify(ctx, 'KeystoneUserCreated', `Created Keystone user ${k.userName}`);
  } else {
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

  const service = await ensureService(ctx, ctx.gs.status?.serviceId);

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

async function ensureService(ctx: ReconcileContext, knownId: string | undefined): Promise<KeystoneService> {
  const { keystone } = ctx.sessions;
  const k = ctx.spec.keystone;
  const service = await findService(keystone, k.serviceName, knownId);
  if (!service) {
    const created = await keystone.createService({
      name: k.serviceName,
      type: SERVICE_TYPE,
      description: k.serviceDescription,
    });
    await notify(ctx, 'KeystoneServiceCreated', `Created Keystone service ${k.serviceName} of type image`);
    return created;
  }
  if (!service.enabled || (service.description ?? '') !== k.serviceDescription) {
    await keystone.updateService(service.id, { enabled: true, description: k.serviceDescription });
    await notify(ctx, 'KeystoneServiceUpdated', `Restored Keystone service ${k.serviceName}`);
  }
  return service;
}

/**
 * Marks a region this GlanceService created, so that deletion can tell it from one that was there before (a
 * region is shared by every service of a cloud): kept in Keystone itself, it survives a restart at any line.
 */
function regionDescription(ctx: Pick<ReconcileContext, 'gs'>): string {
  return `Created by glance-operator for GlanceService ${ctx.gs.metadata.namespace}/${ctx.gs.metadata.name}`;
}

/**
 * Always on delete: this region's endpoints go; the service and the user go when no other region still
 * has endpoints of the service (another GlanceService may serve it there); the region goes when this
 * GlanceService created it and no endpoint of any service is left in it.
 */
export async function deleteKeystoneRegistration(
  ctx: CleanupContext,
  keystone: KeystoneAdmin,
): Promise<void> {
  const k = ctx.spec.keystone;
  const service = await findService(keystone, k.serviceName, ctx.gs.status?.serviceId);
  if (service) {
    const endpoints = await keystone.listEndpoints(service.id);
    for (const e of endpoints.filter((e) => e.region_id === k.region)) await keystone.deleteEndpoint(e.id);
    if (endpoints.some((e) => e.region_id !== k.region)) {
      await notify(
        ctx,
        'KeystoneEndpointsDeleted',
        `Deleted the endpoints in ${k.region}; other regions keep the service`,
      );
      await deleteOwnRegion(ctx, keystone);
      return;
    }
    await keystone.deleteService(service.id);
  }
  const user = await keystone.findUser(k.userName, await serviceDomainId(keystone, ctx.spec));
  if (user) await keystone.deleteUser(user.id);
  await notify(
    ctx,
    'KeystoneDeregistered',
    `Deleted Keystone service ${k.serviceName}, its endpoints and user ${k.userName}`,
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
