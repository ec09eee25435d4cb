import { GROUP } from '../api/glance-service-types.js';

export const IMAGE_FINALIZER = `${GROUP}/image-cleanup`;
/** Changing this annotation retries a transfer that failed for good (checksum mismatch, 404, ...). */
export const RETRY_ANNOTATION = `${GROUP}/retry`;
