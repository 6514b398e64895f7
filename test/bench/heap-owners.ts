// Which structure holds the heap: every node of a V8 .heapsnapshot is charged to the last class field (`Class.#field`)
// or closure variable (`ctx.name`) on its shortest path from the roots (weak edges ignored), and the self sizes are
// summed per holder. Given a second snapshot, prints the growth per holder divided by `per` (e.g. bytes per object
// between 0 and 2,000 synced objects). Used for docs/performance.md ("Bytes per object"); figures only.
//   node test/bench/heap-owners.ts <file.heapsnapshot> [top]
//   node test/bench/heap-owners.ts <before.heapsnapshot> <after.heapsnapshot> <per> [top]
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Self size and node count per holder. */
export function heapOwners(path: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const { node_fields: nf, edge_fields: ef } = snap.snapshot.meta;
  const [W, EW] = [nf.length, ef.length];
  const n = snap.nodes.length / W;
  const [T, NM, SZ, EC] = ['type', 'name', 'self_size', 'edge_count'].map((f) => nf.indexOf(f)) as [
    number,
    number,
    number,
    number,
  ];
  const [ET, EN, ETO] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f)) as [number, number, number];
  const nodeTypes = snap.snapshot.meta.node_types[0];
  const edgeTypes = snap.snapshot.meta.edge_types[0];
  const node = (v: number, f: number): number => snap.nodes[v * W + f] ?? 0;
  const edge = (e: number, f: number): number => snap.edges[e * EW + f] ?? 0;
  const first = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) first[i + 1] = (first[i] ?? 0) + node(i, EC);
  const label: string[] = new Array<string>(n);
  label[0] = '(root)';
  const seen = new Uint8Array(n);
  seen[0] = 1;
  const queue = new Uint32Array(n);
  let head = 0;
  let tail = 1;
  // Plain containers pass their holder on; a class instance's field or a closure variable becomes the holder.
  const container = /^(Object|Array|Map|Set|system \/.*|\(.*\)|)$/;
  while (head < tail) {
    const v = queue[head++] ?? 0;
    const className = nodeTypes[node(v, T)] === 'object' ? (snap.strings[node(v, NM)] ?? '') : '';
    for (let e = first[v] ?? 0; e < (first[v + 1] ?? 0); e++) {
      const type = edgeTypes[edge(e, ET)];
      const w = edge(e, ETO) / W;
      if (type === 'weak' || type === 'shortcut' || seen[w]) continue;
      seen[w] = 1;
      queue[tail++] = w;
      const name = type === 'element' || type === 'hidden' ? '' : (snap.strings[edge(e, EN)] ?? '');
      if (type === 'context' && !/^(this|\.)/.test(name)) label[w] = `ctx.${name}`;
      else if (type === 'property' && className !== '' && !container.test(className)) label[w] = `${className}.${name}`;
      else label[w] = label[v] ?? '';
    }
  }
  const sums = new Map<string, { bytes: number; count: number }>();
  for (let v = 0; v < n; v++) {
    if (!seen[v]) continue;
    const row = sums.get(label[v] ?? '') ?? { bytes: 0, count: 0 };
    row.bytes += node(v, SZ);
    row.count++;
    sums.set(label[v] ?? '', row);
  }
  return sums;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const args = process.argv.slice(2);
  if (args.length === 0) {
    process.stderr.write('usage: node test/bench/heap-owners.ts <file> [top] | <before> <after> <per> [top]\n');
    process.exit(2);
  }
  const [a = '', b, per = '1', top = '30'] = args.length >= 3 ? args : [args[0], undefined, '1', args[1]];
  const before = b === undefined ? new Map<string, { bytes: number; count: number }>() : heapOwners(a);
  const after = heapOwners(b ?? a);
  const rows = [...new Set([...before.keys(), ...after.keys()])].map((k) => ({
    k,
    bytes: ((after.get(k)?.bytes ?? 0) - (before.get(k)?.bytes ?? 0)) / Number(per),
    count: ((after.get(k)?.count ?? 0) - (before.get(k)?.count ?? 0)) / Number(per),
  }));
  const total = rows.reduce((s, r) => s + r.bytes, 0);
  process.stdout.write(`total ${total.toFixed(0)} bytes${b === undefined ? '' : ` per ${per}`}\n`);
  for (const r of rows.sort((x, y) => y.bytes - x.bytes).slice(0, Number(top)))
    process.stdout.write(`${r.bytes.toFixed(0).padStart(10)} B ${r.count.toFixed(1).padStart(9)} nodes  ${r.k}\n`);
}
