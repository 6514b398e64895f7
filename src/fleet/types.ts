// ImageShareSet spec and status, as served by crds/imageshareset.yaml (docs/adr/0027); the child ImageShares use the
// ImageShare types of src/api/types.ts.
import type { Condition, ExpiringAccount, ImageShareSpec, ObjectMeta } from '../api/types.ts';

export const SET_KIND = 'ImageShareSet';
export const SET_PLURAL = 'imagesharesets';
/** Held by every set until its children are gone (the test control plane, and some clusters, have no GC). */
export const SET_FINALIZER = 'ecs.alicloud.dev/children';
/** On every child: the name of the set that owns it. */
export const SET_LABEL = 'ecs.alicloud.dev/imageshareset';
/** On every child: its region. */
export const REGION_LABEL = 'ecs.alicloud.dev/region';

export interface ImageSelector {
  imageFamily?: string;
  /** key → value; an empty value matches the key with any value. */
  tags?: Record<string, string>;
  namePrefix?: string;
}

export type Keep = { latest: number } | { all: true };

/** The child template: the ImageShare policies a set copies to every child. */
type ChildTemplate = Pick<
  ImageShareSpec,
  'community' | 'sharePolicy' | 'deletionPolicy' | 'mode' | 'suspend' | 'credentials' | 'resyncInterval'
>;

export interface ImageShareSetSpec extends ChildTemplate {
  selector: ImageSelector;
  regions: string[];
  keep?: { latest?: number; all?: boolean };
  maxChildren?: number;
  discoveryInterval?: string;
  accounts?: string[];
  /** Copied to every child: accounts shared until expiresAt (the ImageShare field of docs/adr/0032). */
  expiringAccounts?: ExpiringAccount[];
  /** AccountSets (this namespace) and ClusterAccountSets whose accounts the children also get (docs/adr/0028). */
  accountSetRefs?: AccountSetRef[];
}

export interface RegionStatus {
  regionId: string;
  newestImageId?: string;
  newestImageName?: string;
  newestCreationTime?: string;
  matched: number;
  kept: number;
  error?: string;
}

export interface ChildCounts {
  total: number;
  synced: number;
  failed: number;
  pending: number;
}

export interface ImageShareSetStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastDiscoveryTime?: string;
  regions?: RegionStatus[];
  children?: ChildCounts;
}

export interface ImageShareSet {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: ImageShareSetSpec;
  status?: ImageShareSetStatus;
}

export const ACCOUNT_SET_KIND = 'AccountSet';
export const ACCOUNT_SET_PLURAL = 'accountsets';
export const CLUSTER_ACCOUNT_SET_KIND = 'ClusterAccountSet';
export const CLUSTER_ACCOUNT_SET_PLURAL = 'clusteraccountsets';

export interface AccountSetRef {
  kind: typeof ACCOUNT_SET_KIND | typeof CLUSTER_ACCOUNT_SET_KIND;
  name: string;
}

/** An AccountSet or ClusterAccountSet (crds/accountset.yaml, crds/clusteraccountset.yaml). */
export interface AccountSet {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
  spec: { accounts: Array<{ id: string; description?: string }> };
}
