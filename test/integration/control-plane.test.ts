// The test control plane itself: the properties the other integration suites rely on (real client-certificate
// authentication, RBAC enforcement, correctly stamped versions, state shared with Jest workers).
import { describe, expect, it } from '@jest/globals';
import { addTestUser, testKubeconfig, testServer } from '../harness/env.ts';
import { eventually } from '../harness/eventually.ts';
import { applyYaml, createNamespace, kubectl } from '../harness/kubectl.ts';

describe('test control plane', () => {
  it('reaches this worker through the state file and serves on loopback', () => {
    expect(testServer()).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(testKubeconfig()).toMatch(/admin\.kubeconfig$/);
  });

  it('reports the stamped Kubernetes version, so kubectl and helm version checks work', async () => {
    // Without the build's -X ldflags the server would report "v0.0.0-master+$Format:%H$" and kubectl would fail.
    const { stdout } = await kubectl(['version', '-o', 'json']);
    const versions = JSON.parse(stdout) as { serverVersion: { gitVersion: string; major: string; minor: string } };
    expect(versions.serverVersion).toMatchObject({ gitVersion: 'v1.35.4', major: '1', minor: '35' });
  });

  it('authenticates the admin kubeconfig as a system:masters client certificate', async () => {
    const { stdout } = await kubectl(['auth', 'whoami', '-o', 'json']);
    const review = JSON.parse(stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(review.status.userInfo.username).toBe('admin');
    expect(review.status.userInfo.groups).toContain('system:masters');
  });

  it('enforces RBAC for users added with addTestUser', async () => {
    const ns = await createNamespace('cp-rbac');
    const kubeconfig = await addTestUser('alice', ['image-team']);

    const whoami = JSON.parse((await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig })).stdout) as {
      status: { userInfo: { username: string; groups: string[] } };
    };
    expect(whoami.status.userInfo.username).toBe('alice');
    expect(whoami.status.userInfo.groups).toEqual(expect.arrayContaining(['image-team', 'system:authenticated']));

    const denied = await kubectl(['get', 'imageshares', '-n', ns], { kubeconfig, allowFail: true });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('User "alice" cannot list resource "imageshares" in API group "ecs.alicloud.dev"');

    await applyYaml(`
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: imageshare-reader, namespace: ${ns} }
rules:
  - apiGroups: [ecs.alicloud.dev]
    resources: [imageshares]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: image-team-reads, namespace: ${ns} }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: imageshare-reader }
subjects:
  - { apiGroup: rbac.authorization.k8s.io, kind: Group, name: image-team }
`);
    // The RBAC authorizer sees new bindings through its informer, a moment after the write.
    await eventually(() => kubectl(['get', 'imageshares', '-n', ns], { kubeconfig }));
    const stillDenied = await kubectl(['get', 'imageshares', '-n', 'default'], { kubeconfig, allowFail: true });
    expect(stillDenied.stderr).toContain('cannot list resource "imageshares"');
  });
});
