// Who may read /metrics, asked of the apiserver the way controller-runtime's secure metrics do: a TokenReview says
// who presented the bearer token, a SubjectAccessReview whether that user may `get` the nonResourceURL /metrics.
// Verdicts are cached briefly per token digest, so a scrape every few seconds costs no API call each time.
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { MetricsAuth, MetricsVerdict } from '../runtime/http-server.ts';

const TTL_MS = 10_000;
const MAX_ENTRIES = 1_000;

/** A MetricsAuth over the apiserver. check() throws on API errors (the server answers 500). */
export function kubeMetricsAuth(kc: KubeConfig, now: () => number = Date.now): MetricsAuth {
  const authn = kc.makeApiClient(AuthenticationV1Api);
  const authz = kc.makeApiClient(AuthorizationV1Api);
  const cache = new Map<string, { at: number; verdict: MetricsVerdict }>();
  const review = async (token: string): Promise<MetricsVerdict> => {
    const tr = await authn.createTokenReview({
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } },
    });
    const user = tr.status?.user;
    if (tr.status?.authenticated !== true || user === undefined) return 'unauthenticated';
    const sar = await authz.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          ...(user.username === undefined ? {} : { user: user.username }),
          ...(user.uid === undefined ? {} : { uid: user.uid }),
          ...(user.groups === undefined ? {} : { groups: user.groups }),
          ...(user.extra === undefined ? {} : { extra: user.extra }),
          nonResourceAttributes: { path: '/metrics', verb: 'get' },
        },
      },
    });
    return sar.status?.allowed === true ? 'allowed' : 'forbidden';
  };
  return {
    async check(token) {
      const key = createHash('sha256').update(token).digest('hex');
      const hit = cache.get(key);
      if (hit !== undefined && now() - hit.at < TTL_MS) return hit.verdict;
      const verdict = await review(token);
      if (cache.size >= MAX_ENTRIES) cache.clear();
      cache.set(key, { at: now(), verdict });
      return verdict;
    },
  };
}
