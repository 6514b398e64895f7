// Runs the shipped Argo CD health script (docs/argocd/health.lua) under the real Lua 5.1 interpreter, the dialect
// Argo CD's gopher-lua implements. The script runs in an environment holding only `obj` and the base functions
// Argo CD's sandbox opens (no io, os or string library), so a script that leans on anything else fails here too.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { toLuaLiteral } from './lua-literal.ts';
import { type ProcessResult, runProcess } from './run-process.ts';

export const HEALTH_SCRIPT_PATH = fileURLToPath(new URL('../../docs/argocd/health.lua', import.meta.url));
export const ARGO_HEALTH_STATUSES = ['Healthy', 'Progressing', 'Degraded', 'Suspended', 'Missing', 'Unknown'] as const;
export type ArgoHealthStatus = (typeof ARGO_HEALTH_STATUSES)[number];

export interface ArgoHealth {
  status: string;
  message: string;
}

const LUA = process.env.LUA_BIN ?? 'lua5.1';

// The harness prints the status, a newline, then the message (statuses never contain a newline).
const RUNNER = `
local chunk, err = loadstring(SCRIPT, "=health.lua")
if chunk == nil then error("health.lua does not compile: " .. err) end
local sandbox = { obj = OBJ, tostring = tostring, tonumber = tonumber, ipairs = ipairs, pairs = pairs,
  type = type, next = next, select = select, unpack = unpack, error = error, pcall = pcall, table = table }
setfenv(chunk, sandbox)
local hs = chunk()
if type(hs) ~= "table" then error("health.lua returned " .. type(hs) .. ", not a table") end
io.write(tostring(hs.status), "\\n", tostring(hs.message))
`;

/**
 * Evaluates docs/argocd/health.lua for `obj` (an ImageShare as read from the API server) and returns what Argo CD
 * would show. Throws when lua5.1 is not installed (apt-get install lua5.1; .ci/run installs it), when the script
 * fails to compile or raises an error, or when it returns a status Argo CD does not know.
 */
export async function argoHealth(obj: object): Promise<ArgoHealth> {
  const script = await readFile(HEALTH_SCRIPT_PATH, 'utf8');
  const program = `local SCRIPT = ${toLuaLiteral(script)}\nlocal OBJ = ${toLuaLiteral(obj)}\n${RUNNER}`;
  const { code, stdout, stderr } = await runLua(program);
  if (code !== 0) throw new Error(`${LUA} failed (exit ${String(code)}) running ${HEALTH_SCRIPT_PATH}: ${stderr.trim()}`);
  const newline = stdout.indexOf('\n');
  const status = newline < 0 ? stdout : stdout.slice(0, newline);
  const message = newline < 0 ? '' : stdout.slice(newline + 1);
  if (!(ARGO_HEALTH_STATUSES as readonly string[]).includes(status)) {
    throw new Error(`health.lua returned status ${JSON.stringify(status)}, which Argo CD does not know`);
  }
  return { status, message };
}

async function runLua(program: string): Promise<ProcessResult> {
  try {
    return await runProcess(LUA, ['-'], { input: program });
  } catch (err: unknown) {
    throw new Error(`cannot run ${LUA} (install it with: apt-get install -y lua5.1)`, { cause: err });
  }
}
