// The demo's fleet step: an ImageShareSet (examples/fleet/golden-pipeline.yaml) shares the newest builds of an image
// family; a second build in cn-hangzhou joins the window and the oldest falls out of `keep: latest 2`. What it prints
// is real: kubectl's printer columns and events, and the share lists the emulator holds.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageShare } from '../../src/api/types.ts';
import type { ImageShareSet } from '../../src/fleet/types.ts';
import type { Emulator } from '../emulator/server.ts';
import type { KubeCli } from '../harness/kube-cli.ts';
import { retarget } from './examples.ts';
import { pollUntil } from './poll.ts';
import type { Progress } from './progress.ts';
import { FLEET } from './scenario.ts';
import type { Teardown } from './teardown.ts';

export interface FleetStepContext {
  kube: KubeCli;
  emulator: Emulator;
  progress: Progress;
  teardown: Teardown;
  namespace: string;
  examplesDir: string;
  /** On a cluster the demo did not start, the set is deleted at teardown (while the operator still runs). */
  cleanUp: boolean;
  poll: { timeoutMs: number; now: () => number; sleep: (ms: number) => Promise<void> };
  poke: (kind: string, name: string, why: string) => Promise<void>;
}

const childName = (regionId: string, imageId: string) => `${FLEET.name}-${regionId}-${imageId}`;

export async function fleetStep(c: FleetStepContext): Promise<void> {
  const p = c.progress;
  const example = retarget(FLEET.file, await readFile(join(c.examplesDir, FLEET.file), 'utf8'), c.namespace);
  const applied = await c.kube.run(['apply', '-f', '-'], { input: example.manifest });
  p.command(`kubectl apply -f examples/${FLEET.file}`, applied.stdout);
  if (c.cleanUp)
    c.teardown.add(`ImageShareSet ${FLEET.name} and its children`, async () => {
      await c.kube.run([
        'delete',
        'imageshareset',
        FLEET.name,
        '-n',
        c.namespace,
        '--ignore-not-found',
        '--timeout=60s',
      ]);
    });

  const first = [
    childName(FLEET.regionId, FLEET.kept),
    childName(FLEET.regionId, FLEET.oldest),
    childName(FLEET.other.regionId, FLEET.other.imageId),
  ];
  await settle(c, 'the set to share the two newest builds per region', first);
  await show(c);
  p.info(`cloud: ${FLEET.oldest} is shared with ${(await shares(c, FLEET.oldest)).join(', ')}`);

  await c.emulator.admin.addImage({ ...FLEET.newBuild, region: FLEET.regionId, owner: '1000000000000001' });
  p.info(
    `the pipeline finishes ${FLEET.newBuild.id} (${FLEET.newBuild.name}) in ${FLEET.regionId}, in the family: added through the emulator's admin API`,
  );
  await c.poke('imageshareset', FLEET.name, 'discovery runs every 5m (discoveryInterval); the annotation asks at once');
  const second = [
    childName(FLEET.regionId, FLEET.newBuild.id),
    childName(FLEET.regionId, FLEET.kept),
    childName(FLEET.other.regionId, FLEET.other.imageId),
  ];
  await settle(c, `${FLEET.newBuild.id} to be shared and ${FLEET.oldest} to fall out of keep: latest 2`, second);
  await pollUntil(c.poll, `${FLEET.oldest} to be unshared (deletionPolicy Revoke)`, async () => {
    const left = await shares(c, FLEET.oldest);
    return left.length === 0 ? true : `still shared with ${left.join(', ')}`;
  });
  await show(c);
  p.info(
    `cloud: ${FLEET.newBuild.id} is shared with ${(await shares(c, FLEET.newBuild.id)).join(', ')}; ${FLEET.oldest} (the oldest build) is shared with nobody now`,
  );
  const args = [
    'get',
    'events',
    '-n',
    c.namespace,
    '--field-selector',
    `involvedObject.kind=ImageShareSet,involvedObject.name=${FLEET.name}`,
    '--sort-by=.metadata.creationTimestamp',
  ];
  const events = await c.kube.run(args);
  p.command(`kubectl ${args.join(' ')}`, events.stdout || events.stderr);
}

/** Waits until the set's children are exactly `names`, every one Ready, and the set Ready. */
async function settle(c: FleetStepContext, what: string, names: readonly string[]): Promise<void> {
  const want = [...names].sort().join(', ');
  await pollUntil(c.poll, what, async () => {
    const set = await c.kube.getJson<ImageShareSet>('imageshareset', c.namespace, FLEET.name);
    const label = `ecs.alicloud.dev/imageshareset=${FLEET.name}`;
    const listed = await c.kube.run(['get', 'imageshares', '-n', c.namespace, '-l', label, '-o', 'json']);
    const children = JSON.parse(listed.stdout) as { items: ImageShare[] };
    const live = children.items.filter((i) => i.metadata.deletionTimestamp === undefined);
    const got = live
      .map((i) => i.metadata.name)
      .sort()
      .join(', ');
    const ready = set.status?.conditions?.find((x) => x.type === 'Ready');
    if (got === want && ready?.status === 'True' && set.status?.observedGeneration === set.metadata.generation)
      return true;
    return `children ${got || 'none'}; set Ready ${ready?.status ?? '?'} ${ready?.reason ?? ''}`;
  });
}

async function show(c: FleetStepContext): Promise<void> {
  const set = ['get', 'imageshareset', FLEET.name, '-n', c.namespace];
  c.progress.command(`kubectl ${set.join(' ')}`, (await c.kube.run(set)).stdout);
  const children = ['get', 'ishare', '-n', c.namespace, '-l', `ecs.alicloud.dev/imageshareset=${FLEET.name}`];
  c.progress.command(`kubectl ${children.join(' ')}`, (await c.kube.run(children)).stdout);
}

async function shares(c: FleetStepContext, imageId: string): Promise<string[]> {
  return (await c.emulator.admin.image(FLEET.regionId, imageId)).sharedWith.map((s) => s.id).sort();
}
