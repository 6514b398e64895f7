// JSON-shaped values as Lua 5.1 table constructors, because Lua 5.1 has no JSON library. The result mirrors what
// Argo CD hands a health script (gopher-lua's conversion of the unstructured object): objects become tables with
// string keys, arrays become 1-based sequences (so `ipairs` walks them), null and undefined fields are absent.

/**
 * Renders `value` as a Lua 5.1 expression. Guarantees: every string round-trips byte for byte (quotes, backslashes,
 * control characters and newlines are escaped; other bytes pass through); keys are always `["quoted"]`, so any key
 * is safe. Throws on values JSON cannot carry either (functions, symbols, bigint, non-finite numbers, cycles).
 */
export function toLuaLiteral(value: unknown): string {
  return render(value, new Set());
}

function render(value: unknown, seen: Set<object>): string {
  if (value === null || value === undefined) return 'nil';
  switch (typeof value) {
    case 'string':
      return luaString(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`cannot render the non-finite number ${value} as Lua`);
      return String(value);
    case 'object':
      return renderTable(value, seen);
    default:
      throw new Error(`cannot render a ${typeof value} as Lua`);
  }
}

function renderTable(value: object, seen: Set<object>): string {
  if (seen.has(value)) throw new Error('cannot render a cyclic object as Lua');
  seen.add(value);
  const parts = Array.isArray(value)
    ? value.map((item: unknown) => render(item, seen))
    : Object.entries(value)
        .filter(([, v]) => v !== undefined && v !== null)
        .map(([k, v]) => `[${luaString(k)}] = ${render(v, seen)}`);
  seen.delete(value);
  return `{ ${parts.join(', ')} }`;
}

/** A double-quoted Lua string; control bytes use three-digit `\ddd` so a following digit cannot merge with them. */
function luaString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\${String(code).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}
