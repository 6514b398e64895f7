// The one-image-one-owner index of the ImageShare cache: (regionId, imageId) → the keys of the objects naming it.
// One entry per claimed image; almost every image has one claimant, so the entry is then that key itself, not a
// collection (issue 19: a Map per image cost ~240 bytes per object). An object's entry is found from the object the
// informer event carries (the cached one it replaces or removes), so no per-key record is kept besides.

const claimKey = (regionId: string, imageId: string): string => `${regionId}\u0000${imageId}`;

/** What the index reads of an object. */
export interface Claimant {
  spec?: { regionId?: string; imageId?: string } | undefined;
}

export class ClaimIndex {
  readonly #claims = new Map<string, string | Set<string>>();

  /** Records that `key` names the image of `obj`. */
  add(key: string, obj: Claimant): void {
    const claim = claimOf(obj);
    const entry = this.#claims.get(claim);
    if (entry === undefined || entry === key) this.#claims.set(claim, key);
    else if (typeof entry === 'string') this.#claims.set(claim, new Set([entry, key]));
    else entry.add(key);
  }

  /** Forgets that `key` names the image of `obj` (the object as it was added). */
  remove(key: string, obj: Claimant): void {
    const claim = claimOf(obj);
    const entry = this.#claims.get(claim);
    if (entry === key) this.#claims.delete(claim);
    else if (typeof entry === 'object') {
      entry.delete(key);
      const [only, ...more] = entry;
      if (only !== undefined && more.length === 0) this.#claims.set(claim, only);
    }
  }

  /** The keys naming (regionId, imageId), in no particular order. */
  keys(regionId: string, imageId: string): string[] {
    const entry = this.#claims.get(claimKey(regionId, imageId));
    return entry === undefined ? [] : typeof entry === 'string' ? [entry] : [...entry];
  }

  /** Claimed images. */
  size(): number {
    return this.#claims.size;
  }

  /** Claimed images with more than one claimant (each held in a Set). */
  shared(): number {
    let n = 0;
    for (const entry of this.#claims.values()) if (typeof entry !== 'string') n++;
    return n;
  }
}

const claimOf = (obj: Claimant): string => claimKey(obj.spec?.regionId ?? '', obj.spec?.imageId ?? '');
