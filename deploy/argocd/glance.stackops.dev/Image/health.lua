-- Argo CD health of a glance.stackops.dev Image, read the kstatus way: a status for an older generation is
-- Progressing, Stalled=True is Degraded, Ready=True is Healthy, anything else (Reconciling) is Progressing.
local hs = {}
if obj.status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and (obj.status.observedGeneration == nil or obj.status.observedGeneration < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. generation
  return hs
end
local ready, stalled
for _, c in ipairs(obj.status.conditions or {}) do
  if c.type == "Ready" then ready = c end
  if c.type == "Stalled" and c.status == "True" then stalled = c end
end
if stalled ~= nil then
  hs.status = "Degraded"
  hs.message = stalled.reason .. ": " .. stalled.message
  return hs
end
if ready ~= nil and ready.status == "True" then
  hs.status = "Healthy"
  hs.message = ready.message
  return hs
end
hs.status = "Progressing"
local phase = obj.status.phase or "Pending"
local progress = obj.status.progress
if progress ~= nil and progress.percent ~= nil then
  hs.message = phase .. " " .. progress.percent .. "%"
elseif ready ~= nil then
  hs.message = phase .. ": " .. ready.message
else
  hs.message = phase
end
return hs
