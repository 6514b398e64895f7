// An in-memory ImageSharing for fast unit tests of the reconciler. It keeps the ECS rules the reconciler relies on
// (account-specific failures, community images refusing grants, the 50 quota) and records every write. The real
// protocol is tested against the emulator in test/contract/.
import {
  type AccountResult,
  CloudError,
  type ErrorClass,
  type ImageRef,
  type ImageSharing,
  type ImageSharingFactory,
  type ModifyResult,
  type ObservedImage,
} from '../../src/cloud/port.ts';

export interface FakeImage {
  name: string;
  status: string;
  encrypted: boolean;
  community: boolean;
  accounts: Map<string, string>;
  /** The image's tags (the owner tag of ADR 0008 among them). */
  tags: Record<string, string>;
}

export type FakeCall = {
  op: 'observe' | 'grant' | 'revoke' | 'publish' | 'unpublish' | 'tag' | 'untag';
  accounts?: string[];
};

const err = (code: string, c: Omit<ErrorClass, 'accountSpecific'> & { accountSpecific?: boolean }) =>
  new CloudError({ code, accountSpecific: false, ...c });

export class FakeCloud implements ImageSharing, ImageSharingFactory {
  readonly images = new Map<string, FakeImage>();
  readonly calls: FakeCall[] = [];
  /** Accounts ECS does not know. */
  readonly unknownAccounts = new Set<string>();
  /** Errors thrown by the next calls, first in first out (e.g. throttling). */
  readonly failNext: CloudError[] = [];
  /** While set, reads show this earlier state (read-after-write lag); writes still apply to the real state. */
  private frozen: { accounts: Map<string, string>; community: boolean } | undefined;
  /** The next grant applies but its answer is lost (a timeout after ECS accepted it). */
  loseNextGrantAnswer = false;
  private clock = 0;

  /** Reads keep showing the current state of `ref` until thawReads (models ECS's eventual consistency). */
  freezeReads(ref: ImageRef): void {
    const img = this.image(ref);
    this.frozen = { accounts: new Map(img.accounts), community: img.community };
  }

  thawReads(): void {
    this.frozen = undefined;
  }

  forCredentials(): ImageSharing {
    return this;
  }

  addImage(ref: ImageRef, init: Partial<Omit<FakeImage, 'accounts'>> & { accounts?: string[] } = {}): FakeImage {
    const img: FakeImage = {
      name: init.name ?? 'golden',
      status: init.status ?? 'Available',
      encrypted: init.encrypted ?? false,
      community: init.community ?? false,
      accounts: new Map((init.accounts ?? []).map((id) => [id, this.stamp()])),
      tags: { ...(init.tags ?? {}) },
    };
    this.images.set(key(ref), img);
    return img;
  }

  image(ref: ImageRef): FakeImage {
    const img = this.images.get(key(ref));
    if (!img) throw new Error(`no fake image ${key(ref)}`);
    return img;
  }

  writes(): FakeCall[] {
    return this.calls.filter((c) => c.op !== 'observe');
  }

  async observe(ref: ImageRef): Promise<ObservedImage> {
    this.calls.push({ op: 'observe' });
    this.maybeFail();
    const img = this.images.get(key(ref));
    if (!img)
      throw err('InvalidImageId.NotFound', {
        kind: 'terminal',
        reason: 'ImageNotFound',
        message: `Image ${ref.imageId} was not found.`,
      });
    return {
      ref,
      name: img.name,
      description: '',
      status: img.status,
      encrypted: img.encrypted,
      ownerAlias: 'self',
      community: this.frozen?.community ?? img.community,
      tags: { ...img.tags },
      sharedAccounts: [...(this.frozen?.accounts ?? img.accounts)]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([id, sharedTime]) => ({ id, sharedTime })),
    };
  }

  async grant(ref: ImageRef, accounts: readonly string[]): Promise<ModifyResult> {
    this.calls.push({ op: 'grant', accounts: [...accounts] });
    const failed = this.failNext.shift();
    if (failed) return { results: [], error: failed };
    const img = this.image(ref);
    if (img.community)
      return {
        results: [],
        error: err('Image.Public', {
          kind: 'terminal',
          reason: 'ImageIsCommunity',
          message: 'The image is a community image.',
        }),
      };
    const results: AccountResult[] = accounts.map((id) =>
      this.unknownAccounts.has(id)
        ? {
            id,
            ok: false,
            error: err('InvalidAccount.NotFound', {
              kind: 'terminal',
              reason: 'AccountNotFound',
              message: `Account ${id} does not exist.`,
              accountSpecific: true,
            }),
          }
        : { id, ok: true },
    );
    const adding = results.filter((r) => r.ok).map((r) => r.id);
    if (new Set([...img.accounts.keys(), ...adding]).size > 50) {
      return {
        results: [],
        error: err('QuotaExceed.ShareImageUser', {
          kind: 'terminal',
          reason: 'AccountQuotaExceeded',
          message: 'Quota exceeded.',
        }),
      };
    }
    for (const id of adding) if (!img.accounts.has(id)) img.accounts.set(id, this.stamp());
    if (this.loseNextGrantAnswer) {
      this.loseNextGrantAnswer = false;
      const lost = err('RequestTimeout', {
        kind: 'transient',
        reason: 'CloudUnreachable',
        message: 'ECS did not answer in time.',
      });
      return { results: accounts.map((id) => ({ id, ok: 'unknown' as const, error: lost })), error: lost };
    }
    return { results };
  }

  async revoke(ref: ImageRef, accounts: readonly string[]): Promise<ModifyResult> {
    this.calls.push({ op: 'revoke', accounts: [...accounts] });
    const failed = this.failNext.shift();
    if (failed) return { results: [], error: failed };
    const img = this.image(ref);
    const results: AccountResult[] = accounts.map((id) =>
      this.unknownAccounts.has(id)
        ? {
            id,
            ok: false,
            error: err('InvalidAccount.NotFound', {
              kind: 'terminal',
              reason: 'AccountNotFound',
              message: `Account ${id} does not exist.`,
              accountSpecific: true,
            }),
          }
        : { id, ok: true },
    );
    for (const r of results) if (r.ok) img.accounts.delete(r.id);
    return { results };
  }

  async setCommunity(ref: ImageRef, community: boolean): Promise<void> {
    this.calls.push({ op: community ? 'publish' : 'unpublish' });
    this.maybeFail();
    this.image(ref).community = community;
  }

  async tagImage(ref: ImageRef, tags: Record<string, string>): Promise<void> {
    this.calls.push({ op: 'tag' });
    this.maybeFail();
    Object.assign(this.image(ref).tags, tags);
  }

  async untagImage(ref: ImageRef, keys: readonly string[]): Promise<void> {
    this.calls.push({ op: 'untag' });
    this.maybeFail();
    for (const k of keys) delete this.image(ref).tags[k];
  }

  private maybeFail(): void {
    const e = this.failNext.shift();
    if (e) throw e;
  }

  /** When set, SharedTime comes from this clock (the test's), as ECS stamps a grant with the time it happened. */
  now: (() => number) | undefined;

  private stamp(): string {
    if (this.now) return new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.clock++;
    return new Date(Date.UTC(2026, 0, 1, 0, 0, this.clock)).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

const key = (ref: ImageRef) => `${ref.regionId}/${ref.imageId}`;

export const throttled = (retryAfterMs?: number) =>
  new CloudError({
    code: 'Throttling.User',
    kind: retryAfterMs ? 'wait' : 'transient',
    reason: 'Throttled',
    message: 'ECS throttled the request.',
    accountSpecific: false,
    retryAfterMs,
  });
export const terminal = (code: string, reason: ErrorClass['reason']) =>
  new CloudError({ code, kind: 'terminal', reason, message: `${reason} happened.`, accountSpecific: false });
