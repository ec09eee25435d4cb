import type { Request, Response, Router } from 'express';
import { UnsupportedMediaType } from '../domain/errors.js';
import { requestContext, requestLocals } from '../http/locals.js';
import { requestedSpan } from '../http/range.js';
import { requestData } from '../http/request-body.js';
import { sendNoContent } from '../http/respond.js';
import { sendBody } from '../http/send-body.js';
import { param, route } from '../http/routing.js';
import type { ImageDataService } from '../services/image-data.js';

/** PUT and GET /v2/images/{id}/file (upstream's image_data.py upload and download). */
export function mountImageData(router: Router, service: ImageDataService): void {
  const upload = async (req: Request, res: Response): Promise<void> => {
    // Upstream's deserializer checks the media type before anything else is looked up.
    const contentType = req.headers['content-type'];
    if (contentType === undefined || contentType.split(';')[0]?.trim() !== 'application/octet-stream') {
      throw new UnsupportedMediaType(`Content type ${contentType ?? 'None'} not supported`);
    }
    const header = req.headers['x-image-meta-store'];
    const storeId = Array.isArray(header) ? header.join(', ') : header;
    const ctx = requestContext(res);
    await service.upload(ctx, param(req, 'imageId'), storeId, requestData(req), requestLocals(res).log);
    sendNoContent(res);
  };

  const download = async (req: Request, res: Response): Promise<void> => {
    const ctx = requestContext(res);
    const { log } = requestLocals(res);
    const found = await service.download(
      ctx,
      param(req, 'imageId'),
      (size) => requestedSpan(req.headers, size),
      log,
    );
    if (found === null) {
      sendNoContent(res);
      return;
    }
    const { image, data, size, span } = found;
    res.status(span ? 206 : 200);
    res.setHeader('Content-Type', 'application/octet-stream');
    if (span) res.setHeader('Content-Range', `bytes ${span.start}-${span.end}/${size}`);
    if (image.checksum) res.setHeader('Content-MD5', image.checksum);
    const length = span ? span.end - span.start + 1 : size;
    res.setHeader('Content-Length', String(length));
    try {
      await sendBody(res, data);
    } catch (err) {
      log.warn({ imageId: image.id, err }, 'image download interrupted');
      res.destroy();
      return;
    }
    service.downloaded(ctx, image, length);
  };

  route(router, '/v2/images/:imageId/file', 'GET, PUT', {
    GET: { bodyReject: true, handler: download },
    PUT: { handler: upload },
  });
}
