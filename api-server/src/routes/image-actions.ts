import type { Router } from 'express';
import type { RequestContext } from '../domain/request-context.js';
import { requestContext } from '../http/locals.js';
import { sendNoContent } from '../http/respond.js';
import { param, route } from '../http/routing.js';
import type { Images } from '../services/images.js';

/** POST /v2/images/{id}/actions/deactivate and …/reactivate (upstream's image_actions.py). */
export function mountImageActions(router: Router, images: Images): void {
  // Both actions take no body and answer 204; only the service's step differs.
  const action = (name: string, run: (ctx: RequestContext, imageId: string) => Promise<void>): void =>
    route(router, `/v2/images/:imageId/actions/${name}`, 'POST', {
      POST: {
        bodyReject: true,
        handler: async (req, res) => {
          await run(requestContext(res), param(req, 'imageId'));
          sendNoContent(res);
        },
      },
    });
  action('deactivate', (ctx, id) => images.deactivate(ctx, id));
  action('reactivate', (ctx, id) => images.reactivate(ctx, id));
}
