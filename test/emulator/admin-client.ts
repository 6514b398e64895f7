// A typed client of the emulator's admin API (/_admin/, unsigned JSON), used by tests and the demo. Every method
// throws AdminApiError when the emulator answers with a non-2xx status.
import type { FaultRule, ThrottleConfig } from './faults.ts';
import type { EmulatorOptions, Seed, SeedImage, SeedInput, SeedKey, SeedOwner, SeedShare } from './seed.ts';
import type { CallLog } from './server.ts';

/** A non-2xx answer from the admin API; `problems` lists seed validation issues when there are any. */
export class AdminApiError extends Error {
  readonly status: number;
  readonly problems: string[];
  constructor(status: number, message: string, problems: string[] = []) {
    super(message);
    this.name = 'AdminApiError';
    this.status = status;
    this.problems = problems;
  }
}

export interface ShareChange {
  add?: Array<string | SeedShare>;
  remove?: string[];
}

export class AdminClient {
  readonly url: string;

  /** `url` is the emulator's base URL, e.g. http://127.0.0.1:4000. */
  constructor(url: string) {
    this.url = url.replace(/\/$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(`${this.url}/_admin/${path}`, init);
    const text = await res.text();
    const parsed = (text === '' ? {} : JSON.parse(text)) as { error?: string; problems?: string[] };
    if (!res.ok) {
      throw new AdminApiError(res.status, parsed.error ?? `admin ${method} ${path}: ${res.status}`, parsed.problems);
    }
    return parsed as T;
  }

  private static imagePath(region: string, imageId: string): string {
    return `images/${encodeURIComponent(region)}/${encodeURIComponent(imageId)}`;
  }

  /** Replaces the whole world; clears the call log, faults, throttle and remembered nonces. */
  async reset(seed: Seed | SeedInput): Promise<void> {
    await this.call('POST', 'reset', seed);
  }

  /** The whole world in seed form, secrets redacted. */
  state(): Promise<Seed> {
    return this.call('GET', 'state');
  }

  image(region: string, imageId: string): Promise<SeedImage> {
    return this.call('GET', AdminClient.imagePath(region, imageId));
  }

  /** Out-of-band image changes (community, status, name, description, encryption, kms, snapshots…). */
  patchImage(
    region: string,
    imageId: string,
    patch: Partial<Omit<SeedImage, 'id' | 'region' | 'owner' | 'sharedWith'>>,
  ): Promise<SeedImage> {
    return this.call('PATCH', AdminClient.imagePath(region, imageId), patch);
  }

  /**
   * Adds an image, as a pipeline build finishing in a region would: `family`, `tags`, `status` and `creationTime`
   * place it in a family (newest first by creationTime). 400 for an image that exists or an unknown owner/region.
   */
  addImage(
    image: Omit<Partial<SeedImage>, 'sharedWith'> & Pick<SeedImage, 'id' | 'region' | 'owner'>,
  ): Promise<SeedImage> {
    return this.call('POST', 'images', image);
  }

  /** Deletes an image out of band (no rules); 404 when it does not exist. */
  async deleteImage(region: string, imageId: string): Promise<void> {
    await this.call('DELETE', AdminClient.imagePath(region, imageId));
  }

  /** Out-of-band share changes that bypass every rule, as the console or another tool would make them. */
  share(region: string, imageId: string, change: ShareChange): Promise<SeedImage> {
    return this.call('POST', `${AdminClient.imagePath(region, imageId)}/shares`, change);
  }

  setOptions(patch: Partial<EmulatorOptions>): Promise<EmulatorOptions> {
    return this.call('PATCH', 'options', patch);
  }

  patchOwner(id: string, patch: Partial<Omit<SeedOwner, 'id' | 'keys'>>): Promise<SeedOwner> {
    return this.call('PATCH', `owners/${encodeURIComponent(id)}`, patch);
  }

  /** Adds a key to an owner, e.g. an STS session with `expiresAt` (the STS stand-in mints them this way). */
  addKey(
    ownerId: string,
    key: Omit<SeedKey, 'disabled' | 'expired'> & Partial<SeedKey>,
  ): Promise<{ accessKeyId: string }> {
    return this.call('POST', `owners/${encodeURIComponent(ownerId)}/keys`, key);
  }

  calls(): Promise<CallLog> {
    return this.call('GET', 'calls');
  }

  async clearCalls(): Promise<void> {
    await this.call('DELETE', 'calls');
  }

  async addFault(rule: FaultRule): Promise<void> {
    await this.call('POST', 'faults', rule);
  }

  /** Drops every fault rule and the throttle, and reseeds the fault PRNG with 1. */
  async clearFaults(): Promise<void> {
    await this.call('DELETE', 'faults');
  }

  /** Throttles per (owner, region, action); `{ qps: 0 }` turns it off. */
  async throttle(cfg: ThrottleConfig): Promise<void> {
    await this.call('PUT', 'throttle', cfg);
  }

  async clearThrottle(): Promise<void> {
    await this.call('DELETE', 'throttle');
  }

  /** Seeds the PRNG behind `rate` faults. */
  async random(seed: number): Promise<void> {
    await this.call('PUT', 'random', { seed });
  }

  async health(): Promise<boolean> {
    const r = await this.call<{ ok?: boolean }>('GET', 'health');
    return r.ok === true;
  }
}
