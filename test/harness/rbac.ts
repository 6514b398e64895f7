// The chart's RBAC, applied for real: the operator in the integration suite runs as a client-certificate user
// bound to exactly the Roles/ClusterRoles the chart renders (nothing added), which proves that RBAC is sufficient.
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { ControlPlane } from './control-plane.ts';
import { type Manifest, renderChart, runTool } from './helm.ts';

export interface OperatorRbacOptions {
  /**
   * Render the namespace-restricted mode: watch these namespaces and allow Secrets only there
   * (secretRefAccess.namespaces). Without it: every namespace, Secrets cluster-wide (secretRefAccess.clusterWide).
   */
  watchNamespaces?: readonly string[];
  /** Render no Secret access at all (the chart's default), whatever watchNamespaces says. */
  noSecretAccess?: boolean;
  /** Render the leader-election Lease Role (default true, so the operator may run with --leader-elect). */
  leaderElection?: boolean;
  /** The Lease name the Role allows (default the operator's default, imageshare-operator). */
  leaseName?: string;
}

/** What operatorUserKubeconfig needs of a control plane: a ControlPlane, or `{ ...testState(), addUser: addTestUser }`. */
export type RbacControlPlane = Pick<ControlPlane, 'addUser' | 'binDir' | 'kubeconfigPath'>;

const RBAC_KINDS = new Set(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

interface Binding extends Manifest {
  subjects: Array<Record<string, string>>;
}

/**
 * Renders the chart (release namespace `namespace`, CRDs left out), applies only its Roles, ClusterRoles and their
 * bindings with every ServiceAccount subject replaced by a fresh client-certificate user, and returns that user's
 * kubeconfig path. The user has exactly the chart's permissions and nothing else. Each call uses a unique release
 * name, so calls never share cluster-scoped objects. Throws when helm or kubectl fails.
 */
export async function operatorUserKubeconfig(
  cp: RbacControlPlane,
  namespace: string,
  opts: OperatorRbacOptions = {},
): Promise<string> {
  const release = `isop-${randomBytes(3).toString('hex')}`;
  const user = `${release}-operator`;
  const set: Record<string, string> = {
    'crds.install': 'false',
    'leaderElection.enabled': String(opts.leaderElection ?? true),
    'leaderElection.leaseName': opts.leaseName ?? 'imageshare-operator',
  };
  if (opts.watchNamespaces && opts.watchNamespaces.length > 0) {
    set['operator.watchNamespaces'] = `{${opts.watchNamespaces.join(',')}}`;
    if (!opts.noSecretAccess) set['secretRefAccess.namespaces'] = `{${opts.watchNamespaces.join(',')}}`;
  } else if (!opts.noSecretAccess) {
    set['secretRefAccess.clusterWide'] = 'true';
  }
  const rendered = await renderChart({ release, namespace, set, binDir: cp.binDir });
  const rbac = rendered.filter((m) => RBAC_KINDS.has(m.kind)).map((m) => bindToUser(m, user));
  const namespaces = [...new Set([namespace, ...(opts.watchNamespaces ?? [])])].map((name) => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name },
  }));
  const input = [...namespaces, ...rbac].map((m) => stringify(m)).join('---\n');
  const kubeconfig = await cp.addUser(user);
  const r = await runTool(join(cp.binDir, 'kubectl'), ['--kubeconfig', cp.kubeconfigPath, 'apply', '-f', '-'], input);
  if (r.code !== 0) throw new Error(`applying the chart's RBAC failed: ${r.stderr.trim()}`);
  return kubeconfig;
}

function bindToUser(m: Manifest, user: string): Manifest {
  if (m.kind !== 'RoleBinding' && m.kind !== 'ClusterRoleBinding') return m;
  const b = structuredClone(m) as Binding;
  b.subjects = b.subjects.map((s) =>
    s.kind === 'ServiceAccount' ? { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: user } : s,
  );
  return b;
}
