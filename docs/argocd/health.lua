-- Argo CD health check for ecs.alicloud.dev/ImageShare (argocd-cm key
-- resource.customizations.health.ecs.alicloud.dev_ImageShare; the copy in argocd-cm.yaml must stay identical,
-- test/checkers/argocd-health.test.ts checks it). Argo CD runs it in gopher-lua (Lua 5.1) with only the base,
-- table and os.time/date libraries (no string, math or io), so it uses only tostring, tonumber and ipairs.
--   generation not yet observed (status or Ready)   -> Progressing
--   Stalled=True                                    -> Degraded, "<reason>: <message>"
--   spec.suspend / Ready reason Suspended           -> Suspended
--   mode Plan with pending changes (PlanPending)    -> Suspended, with the plan summary
--   Ready=True                                      -> Healthy
--   anything else (first sight, retrying, ...)      -> Progressing, with the current reason
local hs = { status = "Progressing", message = "Waiting for the imageshare-operator to report status" }
if obj.status == nil or obj.status.conditions == nil then
  return hs
end
local generation = tonumber(obj.metadata.generation)
local observed = tonumber(obj.status.observedGeneration)
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "The operator has not yet observed generation " .. tostring(generation)
  return hs
end
local ready, stalled, reconciling = nil, nil, nil
for _, c in ipairs(obj.status.conditions) do
  if c.type == "Ready" then ready = c end
  if c.type == "Stalled" and c.status == "True" then stalled = c end
  if c.type == "Reconciling" and c.status == "True" then reconciling = c end
end
local function describe(c)
  return tostring(c.reason or "Unknown") .. ": " .. tostring(c.message or "")
end
if stalled ~= nil then
  hs.status = "Degraded"
  hs.message = describe(stalled)
  return hs
end
if ready == nil then
  return hs
end
local readyGeneration = tonumber(ready.observedGeneration)
if generation ~= nil and readyGeneration ~= nil and readyGeneration < generation then
  hs.message = "The operator has not yet observed generation " .. tostring(generation)
  return hs
end
local spec = obj.spec or {}
if spec.suspend == true or ready.reason == "Suspended" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end
if spec.mode == "Plan" and ready.reason == "PlanPending" then
  hs.status = "Suspended"
  hs.message = describe(ready)
  return hs
end
if ready.status == "True" then
  hs.status = "Healthy"
  hs.message = tostring(ready.message or "")
  return hs
end
if reconciling ~= nil then
  hs.message = describe(reconciling)
else
  hs.message = describe(ready)
end
return hs
