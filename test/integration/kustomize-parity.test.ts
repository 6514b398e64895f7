// `kubectl apply -k deploy/` installs the same objects as the chart with default values (release
// imageshare-operator in imageshare-system): after dropping Helm's own labels and the chart's comments-only
// differences, every object is identical. A default changed in one place and not the other fails here.
import { describe, expect, it } from '@jest/globals';
import { type Manifest, parseManifests, renderChart, runTool, toolsDir } from '../harness/helm.ts';

const HELM_ONLY_LABELS = ['helm.sh/chart', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/version'];
const HELM_ONLY_ANNOTATIONS = ['helm.sh/resource-policy'];

function normalize(m: Manifest): Manifest {
  const copy = structuredClone(m);
  const strip = (meta: { labels?: Record<string, string>; annotations?: Record<string, string> } | undefined) => {
    if (!meta) return;
    for (const k of HELM_ONLY_LABELS) delete meta.labels?.[k];
    for (const k of HELM_ONLY_ANNOTATIONS) delete meta.annotations?.[k];
    if (meta.labels && Object.keys(meta.labels).length === 0) delete meta.labels;
    if (meta.annotations && Object.keys(meta.annotations).length === 0) delete meta.annotations;
  };
  strip(copy.metadata);
  strip((copy as { spec?: { template?: { metadata?: Record<string, never> } } }).spec?.template?.metadata);
  return copy;
}
const key = (m: Manifest): string => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;

describe('deploy/ matches the chart defaults', () => {
  it('renders the same objects, field for field', async () => {
    const r = await runTool(`${await toolsDir()}/kubectl`, [
      'kustomize',
      new URL('../../deploy', import.meta.url).pathname,
    ]);
    expect(r.stderr).toBe('');
    // The Namespace (with its restricted PSS label) is kustomize-only: Helm installs into an existing namespace.
    const kustomized = parseManifests(r.stdout)
      .filter((m) => m.kind !== 'Namespace')
      .map(normalize);
    const chart = (await renderChart()).map(normalize);
    expect(kustomized.map(key).sort()).toEqual(chart.map(key).sort());
    for (const m of chart) {
      expect(kustomized.find((k) => key(k) === key(m))).toEqual(m);
    }
  });
});
