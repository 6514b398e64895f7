// Which objects reference which AccountSets and ClusterAccountSets (docs/adr/0033): an index kept from informer
// events, so an edit of a set reaches its referrers without a scan, and the in-use finalizer knows when to let go.
// Pure: no Kubernetes access.
import type { AccountSetReference } from '../../api/types.ts';

/** A set's key: `AccountSet/<namespace>/<name>` or `ClusterAccountSet//<name>`. */
export function accountSetKey(kind: AccountSetReference['kind'], namespace: string, name: string): string {
  return `${kind}/${kind === 'ClusterAccountSet' ? '' : namespace}/${name}`;
}

/** The kind, namespace and name of a set key. */
export function parseAccountSetKey(key: string): {
  kind: AccountSetReference['kind'];
  namespace: string;
  name: string;
} {
  const [kind, namespace = '', ...rest] = key.split('/');
  return { kind: kind === 'ClusterAccountSet' ? 'ClusterAccountSet' : 'AccountSet', namespace, name: rest.join('/') };
}

/** The set keys an object in `namespace` references (an AccountSet is looked up in that namespace only). */
export function referencedSets(namespace: string, refs: readonly AccountSetReference[] | undefined): string[] {
  return [...new Set((refs ?? []).map((r) => accountSetKey(r.kind, namespace, r.name)))];
}

/** Referrer key → the set keys it references, and the reverse. */
export class ReferenceIndex {
  readonly #setsOf = new Map<string, readonly string[]>();
  readonly #referrersOf = new Map<string, Set<string>>();

  /**
   * Records that `referrer` now references `sets` (empty: nothing, or it is gone). Returns the set keys that gained
   * or lost it as a referrer (none when its references did not change).
   */
  update(referrer: string, sets: readonly string[]): string[] {
    const before = this.#setsOf.get(referrer) ?? [];
    for (const s of before) {
      const r = this.#referrersOf.get(s);
      r?.delete(referrer);
      if (r?.size === 0) this.#referrersOf.delete(s);
    }
    if (sets.length === 0) this.#setsOf.delete(referrer);
    else this.#setsOf.set(referrer, sets);
    for (const s of sets) {
      const r = this.#referrersOf.get(s) ?? new Set<string>();
      r.add(referrer);
      this.#referrersOf.set(s, r);
    }
    return [...before.filter((s) => !sets.includes(s)), ...sets.filter((s) => !before.includes(s))];
  }

  /** The referrers of a set key, sorted. */
  referrers(setKey: string): string[] {
    return [...(this.#referrersOf.get(setKey) ?? [])].sort();
  }
}

/**
 * Each set's last seen (uid, generation). An event that changes neither (our finalizer or status write, a label) is
 * no news to the referrers, whose passes would only read the cloud again.
 */
export class SetGenerations {
  readonly #seen = new Map<string, string>();

  /** True when the set is new, gone, re-created or has another generation than last seen; records what it saw. */
  changed(setKey: string, set: { metadata: { uid?: string; generation?: number } } | undefined): boolean {
    const before = this.#seen.get(setKey);
    if (set === undefined) {
      this.#seen.delete(setKey);
      return true;
    }
    const now = `${set.metadata.uid ?? ''}/${set.metadata.generation ?? 0}`;
    this.#seen.set(setKey, now);
    return now !== before;
  }
}
