// The CRDs shipped by the chart and by deploy/ are crds/*.yaml, byte for byte (generated copies, refreshed
// by `npm run sync-chart-crds`), and the chart renders it unchanged apart from its keep policy and labels.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { only, renderChart } from '../harness/helm.ts';

const read = (rel: string): Promise<string> => readFile(new URL(`../../${rel}`, import.meta.url), 'utf8');
const FIX = 'run `npm run sync-chart-crds` (never edit the copies by hand)';

describe('CRD copies', () => {
  it.each([
    ['crds/imageshare.yaml', 'charts/imageshare-operator/files/crds/imageshare.yaml'],
    ['crds/imageshare.yaml', 'deploy/base/crds/imageshare.yaml'],
    ['crds/imagesharepolicy.yaml', 'charts/imageshare-operator/files/crds/imagesharepolicy.yaml'],
    ['crds/imagesharepolicy.yaml', 'deploy/base/crds/imagesharepolicy.yaml'],
    // The admission policies' source is the chart's files/admission/ (docs/adr/0024); deploy/ holds copies.
    [
      'charts/imageshare-operator/files/admission/imageshare-policies.yaml',
      'deploy/base/admission/imageshare-policies.yaml',
    ],
    ['charts/imageshare-operator/files/admission/tenancy-baseline.yaml', 'deploy/base/admission/tenancy-baseline.yaml'],
  ])('%s equals %s', async (sourcePath, copy) => {
    const [source, generated] = await Promise.all([read(sourcePath), read(copy)]);
    expect({ copy, same: generated === source, fix: FIX }).toEqual({ copy, same: true, fix: FIX });
  });

  it.each([
    ['crds/imageshare.yaml', 'imageshares.ecs.alicloud.dev'],
    ['crds/imagesharepolicy.yaml', 'imagesharepolicies.ecs.alicloud.dev'],
  ])('renders %s with helm.sh/resource-policy: keep and otherwise unchanged', async (path, name) => {
    const source = parse(await read(path)) as { metadata: Record<string, unknown> };
    const rendered = structuredClone(only(await renderChart(), 'CustomResourceDefinition', name)) as unknown as {
      metadata: Record<string, unknown>;
    };
    expect((rendered.metadata.annotations as Record<string, string>)['helm.sh/resource-policy']).toBe('keep');
    const strip = (o: { metadata: Record<string, unknown> }) => {
      const { annotations: _a, labels: _l, ...metadata } = o.metadata;
      return { ...o, metadata };
    };
    expect(strip(rendered)).toEqual(strip(source));
  });

  it('leaves the CRD out when crds.install=false', async () => {
    const ms = await renderChart({ set: { 'crds.install': 'false' } });
    expect(ms.some((m) => m.kind === 'CustomResourceDefinition')).toBe(false);
  });
});
