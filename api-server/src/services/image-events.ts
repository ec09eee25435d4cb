import { Forbidden, GlanceError, NotFound } from '../domain/errors.js';
import type { ImageRecord, MemberRecord } from '../domain/types.js';
import {
  imageDataPayload,
  imageDeletePayload,
  imagePayload,
  imageSendNotification,
  imageUploadFailurePayload,
  memberDeletePayload,
  memberPayload,
  noopNotifier,
  type ImageNotice,
  type ImageSendNotice,
  type MemberNotice,
  type Notifier,
  type UploadFailure,
} from '../notify/index.js';
import { StoreError } from '../store/errors.js';

/** Which of set_data's exception branches a failure to store data falls in. */
function uploadFailureKind(err: unknown): UploadFailure {
  if (err instanceof StoreError) {
    if (err.kind === 'storage-full') return 'storage_full';
    if (err.kind === 'write-denied') return 'write_denied';
    if (err.kind === 'duplicate') return 'duplicate';
  }
  if (err instanceof Forbidden) return 'forbidden';
  if (err instanceof NotFound) return 'not_found';
  return 'internal_error';
}

// Our own messages never carry secrets; a failure from elsewhere is named by its class only.
const errorText = (err: unknown): string =>
  err instanceof GlanceError || err instanceof StoreError ? err.message : 'the upload failed';

/** An image as upstream's notification formatter sees it. */
export function imageNotice(image: ImageRecord, status: string = image.status): ImageNotice {
  return {
    id: image.id,
    name: image.name,
    status,
    created_at: image.created_at,
    updated_at: image.updated_at,
    min_disk: image.min_disk,
    min_ram: image.min_ram,
    protected: image.protected,
    checksum: image.checksum,
    owner: image.owner,
    disk_format: image.disk_format,
    container_format: image.container_format,
    size: image.size,
    virtual_size: image.virtual_size,
    visibility: image.visibility,
    extra_properties: image.properties,
    tags: image.tags,
  };
}

function memberNotice(member: MemberRecord): MemberNotice {
  return {
    image_id: member.image_id,
    member_id: member.member,
    status: member.status,
    created_at: member.created_at,
    updated_at: member.updated_at,
  };
}

/**
 * The image and member notifications, sent where upstream's notifier proxies send them (glance/notifier.py):
 * after each save, around an upload, after a delete and after a download. Payloads are built only for events
 * that are enabled; sending never waits and never fails the request.
 */
export class ImageEvents {
  constructor(private readonly notifier: Notifier = noopNotifier) {}

  /** Whether `eventType` is sent at all: a caller skips reading what only the notification needs. */
  wants(eventType: string): boolean {
    return this.notifier.enabled(eventType);
  }

  /** image.create, after the row was added. */
  created(image: ImageRecord): void {
    this.image('image.create', image);
  }

  /** image.update, after any save of the image (PATCH, tags, status changes). */
  updated(image: ImageRecord): void {
    this.image('image.update', image);
  }

  /** image.prepare, when the data is about to be written. */
  preparing(image: ImageRecord, backend: string | null): void {
    this.notifier.notify('image.prepare', () => imageDataPayload(imageNotice(image), backend));
  }

  /**
   * The data was stored and the image saved active: image.upload, image.activate (when it was not active
   * before) and image.update, in upstream's order.
   */
  uploaded(image: ImageRecord, backend: string | null, activated: boolean): void {
    this.notifier.notify('image.upload', () => imageDataPayload(imageNotice(image), backend));
    if (activated) this.image('image.activate', image);
    this.updated(image);
  }

  /** image.upload at ERROR priority: upstream sends the failure's text, not an image. */
  uploadFailed(kind: UploadFailure, imageId: string, error: string): void {
    this.notifier.notify('image.upload', () => imageUploadFailurePayload(kind, imageId, error), {
      priority: 'ERROR',
    });
  }

  /** image.upload at ERROR priority for the failure `err` of storing the image's data. */
  uploadFailedWith(imageId: string, err: unknown): void {
    this.uploadFailed(uploadFailureKind(err), imageId, errorText(err));
  }

  /** image.delete, after the image was marked deleted. */
  deleted(image: ImageRecord, deletedAt: Date): void {
    this.notifier.notify('image.delete', () => imageDeletePayload(imageNotice(image, 'deleted'), deletedAt));
  }

  /** image.send, once a download's body went out (ERROR when it was cut short). */
  sent(send: ImageSendNotice): void {
    if (!this.notifier.enabled('image.send')) return;
    const { payload, priority } = imageSendNotification(send);
    this.notifier.notify('image.send', payload, { priority });
  }

  memberCreated(member: MemberRecord): void {
    this.notifier.notify('image.member.create', () => memberPayload(memberNotice(member)));
  }

  memberUpdated(member: MemberRecord): void {
    this.notifier.notify('image.member.update', () => memberPayload(memberNotice(member)));
  }

  memberDeleted(member: MemberRecord, deletedAt: Date): void {
    this.notifier.notify('image.member.delete', () => memberDeletePayload(memberNotice(member), deletedAt));
  }

  private image(eventType: string, image: ImageRecord): void {
    this.notifier.notify(eventType, () => imagePayload(imageNotice(image)));
  }
}
