// Evaluates the shipped Argo CD health script (docs/argocd/health.lua) with Argo CD's own interpreter and sandbox:
// gopher-lua with only the package, base, table and safe-os libraries, `obj` converted the way Argo CD's util/lua
// converts the unstructured object, a 1 s timeout, and invalid statuses turned into Unknown (test/support/go/argocd-health).
import { fileURLToPath } from 'node:url';
import { GoHelper, runJsonLinesHelper } from './go-helpers.ts';

export const HEALTH_SCRIPT_PATH = fileURLToPath(new URL('../../docs/argocd/health.lua', import.meta.url));
export const ARGO_HEALTH_STATUSES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'] as const;
export type ArgoHealthStatus = (typeof ARGO_HEALTH_STATUSES)[number];

export interface ArgoHealth {
  status: string;
  message: string;
}

/**
 * What Argo CD shows for each object (ImageShares as read from the API server), in order, from one helper process.
 * Throws when the script raises an error for any of them (Argo CD would show that error instead of a health).
 */
export async function argoHealthMany(objs: readonly object[], scriptPath = HEALTH_SCRIPT_PATH): Promise<ArgoHealth[]> {
  const verdicts = await runJsonLinesHelper(GoHelper.ArgoHealth, ['--script', scriptPath], objs);
  return verdicts.map((v, i) => {
    if (v.error !== undefined) throw new Error(`health.lua failed for object ${i}: ${v.error}`);
    return { status: v.status ?? '', message: v.message ?? '' };
  });
}

/** What Argo CD shows for `obj`; see argoHealthMany. */
export async function argoHealth(obj: object, scriptPath = HEALTH_SCRIPT_PATH): Promise<ArgoHealth> {
  const [health] = await argoHealthMany([obj], scriptPath);
  if (health === undefined) throw new Error('argocd-health returned nothing');
  return health;
}
