// Starts the test control plane by hand: `node test/harness/standalone.ts [--keep]`. Prints the admin kubeconfig
// path and keeps running until Ctrl-C (or SIGTERM), then stops etcd and kube-apiserver. --keep leaves the temp dir.
import { startControlPlane } from './control-plane.ts';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(`Usage: node test/harness/standalone.ts [--keep]

Starts the test control plane (etcd + kube-apiserver, built or reused by test/control-plane/build.sh) on free
loopback ports with client-certificate admin auth, prints the kubeconfig path and waits; Ctrl-C stops it.
  --keep   keep the temp dir (certificates, data, logs) after stopping
`);
  process.exit(0);
}
const keepTempDir = process.argv.includes('--keep');
const plane = await startControlPlane({ keepTempDir });
process.stdout.write(
  `control plane ready at ${plane.server}\n` +
    `  export KUBECONFIG=${plane.kubeconfigPath}\n` +
    `  export PATH=${plane.binDir}:$PATH\n` +
    `logs: ${plane.dir}/{etcd,kube-apiserver}.log   Ctrl-C stops it.\n`,
);
const shutdown = (): void => {
  void plane.stop().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
