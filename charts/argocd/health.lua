-- Argo CD health of a cogumi.ai resource (Lua 5.1, Argo CD's conventions: reads `obj`, returns a table
-- with `status` and `message`). One logic for every kind: they all share the status convention
-- (observedGeneration, phase, stage, conditions Ready / Progressing / GatesPassed / Degraded).
local hs = {}

local function condition(status, kind)
  if type(status.conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(status.conditions) do
    if c.type == kind then
      return c
    end
  end
  return nil
end

local function message(c, fallback)
  if c ~= nil and type(c.message) == "string" and c.message ~= "" then
    return c.message
  end
  return fallback
end

local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to pick up the resource"
  return hs
end

-- A status written for an older spec says nothing about the current one.
local generation = obj.metadata ~= nil and obj.metadata.generation or nil
local observed = status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
    .. " (status is of generation " .. tostring(observed or 0) .. ")"
  return hs
end

local phase = status.phase
local ready = condition(status, "Ready")
local progressing = condition(status, "Progressing")
local degraded = condition(status, "Degraded")

if phase == "Failed" or phase == "GateFailed" then
  hs.status = "Degraded"
  hs.message = phase .. ": " .. message(ready, message(degraded, "no reason given"))
elseif phase == "Suspended" then
  hs.status = "Suspended"
  hs.message = message(progressing, "Suspended")
elseif phase == "Succeeded" or (ready ~= nil and ready.status == "True") then
  hs.status = "Healthy"
  hs.message = message(ready, "Ready")
  if type(status.gatesSummary) == "string" and status.gatesSummary ~= "" then
    hs.message = hs.message .. " (gates passed: " .. status.gatesSummary .. ")"
  end
elseif phase == "Running" or phase == "Pending" then
  -- A stage that failed and waits for its retry is still on its way: Progressing, with the reason.
  hs.status = "Progressing"
  if degraded ~= nil and degraded.status == "True" then
    hs.message = message(degraded, "Retrying")
  else
    hs.message = message(progressing, phase)
  end
else
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(phase)
end
return hs
