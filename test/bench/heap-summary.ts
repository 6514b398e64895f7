// Summarises a V8 .heapsnapshot file: self size per (node type, constructor/name), largest first, plus the total.
// Used to find where the operator's memory goes (docs/performance.md); figures only.
//   node test/bench/heap-summary.ts <file.heapsnapshot> [top]
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  what: string;
  count: number;
  bytes: number;
}

/** Self size per "type:name" over every node of the snapshot, largest first; and the total self size. */
export function summariseHeap(path: string): { total: number; rows: HeapRow[] } {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snap.snapshot.meta.node_types[0];
  const rows = new Map<string, HeapRow>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt] ?? 0] ?? '?';
    const size = snap.nodes[i + sizeAt] ?? 0;
    // Strings and code are grouped by type alone: their "names" are their contents.
    const name =
      type === 'object' || type === 'closure' || type === 'native'
        ? (snap.strings[snap.nodes[i + nameAt] ?? 0] ?? '?')
        : '';
    const what = `${type}${name ? `:${name.slice(0, 60)}` : ''}`;
    const row = rows.get(what) ?? { what, count: 0, bytes: 0 };
    row.count++;
    row.bytes += size;
    rows.set(what, row);
    total += size;
  }
  return { total, rows: [...rows.values()].sort((a, b) => b.bytes - a.bytes) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, top = '25'] = process.argv.slice(2);
  if (file === undefined) {
    process.stderr.write('usage: node test/bench/heap-summary.ts <file.heapsnapshot> [top]\n');
    process.exit(2);
  }
  const { total, rows } = summariseHeap(file);
  process.stdout.write(`total self size ${(total / 1_048_576).toFixed(1)} MiB\n`);
  for (const r of rows.slice(0, Number(top))) {
    process.stdout.write(
      `${(r.bytes / 1_048_576).toFixed(1).padStart(8)} MiB ${String(r.count).padStart(9)}  ${r.what}\n`,
    );
  }
}
