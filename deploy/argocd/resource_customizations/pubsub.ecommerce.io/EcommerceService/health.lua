-- ArgoCD health of an EcommerceService (a Deployment wired to its queue and topics): Ready and
-- Synced as for the other kinds, then Available, which mirrors the Deployment's own: Degraded once
-- the rollout has exceeded its progress deadline, Progressing while pods come up.
-- BEGIN common: the same in the three pubsub.ecommerce.io health checks (a test keeps them equal)
local function condition(obj, type)
  if obj.status == nil or obj.status.conditions == nil then
    return nil
  end
  for _, c in ipairs(obj.status.conditions) do
    if c.type == type then
      return c
    end
  end
  return nil
end

local function describe(c)
  if c.message ~= nil and c.message ~= "" then
    return c.message
  end
  return c.reason or c.type
end

-- Failures the operator retries by itself and that usually pass: worth waiting for, not paging.
local transient = { Throttled = true }

-- Why Ready may be False that only a change of some object can end: a reference without the
-- topic's consent, of the wrong kind or named twice, or a KMS key that shuts SNS out.
local refused = {
  TopicNotAllowed = true,
  FifoMismatch = true,
  FifoTopic = true,
  DuplicateTopic = true,
  RepeatedReference = true,
  KeyPolicyDeniesSns = true,
}

-- The verdict that Ready, Synced and the generations give, or nil when they say healthy.
local function verdict(obj)
  local synced = condition(obj, "Synced")
  local ready = condition(obj, "Ready")
  -- Paused by the user: the operator leaves the object alone on purpose, deletion included.
  local annotations = obj.metadata.annotations or {}
  if annotations["pubsub.ecommerce.io/paused"] == "true" then
    return { status = "Suspended", message = "Paused: the operator leaves this object alone until the annotation pubsub.ecommerce.io/paused is removed" }
  end
  if obj.metadata.deletionTimestamp ~= nil then
    if synced ~= nil and synced.status == "False" then
      if synced.reason == "DeletionBlocked" then
        return { status = "Degraded", message = "Deletion blocked: " .. describe(synced) }
      end
      return { status = "Progressing", message = "Deleting: " .. describe(synced) }
    end
    return { status = "Progressing", message = "Deleting" }
  end
  if synced == nil then
    return { status = "Progressing", message = "Waiting for the operator" }
  end
  local generation = obj.metadata.generation or 0
  local observed = obj.status.observedGeneration or synced.observedGeneration or 0
  if observed < generation then
    return { status = "Progressing", message = "Waiting for the operator to observe generation " .. generation }
  end
  if synced.status == "False" then
    -- managementPolicy ObserveOnly: the resource works; the spec only describes what is expected.
    if synced.reason == "Drifted" and ready ~= nil and ready.status == "True" then
      return { status = "Healthy", message = "Observed only, drifted from the spec: " .. describe(synced) }
    end
    if transient[synced.reason] then
      return { status = "Progressing", message = synced.reason .. ": " .. describe(synced) }
    end
    return { status = "Degraded", message = (synced.reason or "Failed") .. ": " .. describe(synced) }
  end
  if synced.status ~= "True" then
    return { status = "Progressing", message = "Reconciling: " .. describe(synced) }
  end
  if ready == nil then
    return { status = "Progressing", message = "Waiting for Ready" }
  end
  if ready.status ~= "True" then
    if refused[ready.reason] then
      return { status = "Degraded", message = ready.reason .. ": " .. describe(ready) }
    end
    return { status = "Progressing", message = describe(ready) }
  end
  -- A connection-details ConfigMap that cannot be written (another's of that name) needs a person.
  local connection = condition(obj, "ConnectionDetailsReady")
  if connection ~= nil and connection.status == "False" and connection.reason ~= "Waiting" then
    return { status = "Degraded", message = (connection.reason or "Failed") .. ": " .. describe(connection) }
  end
  return nil
end
-- END common

local hs = verdict(obj)
if hs ~= nil then
  return hs
end
local available = condition(obj, "Available")
if available == nil then
  return { status = "Progressing", message = "Waiting for the Deployment to become available" }
end
if available.status ~= "True" then
  if available.reason == "ProgressDeadlineExceeded" then
    return { status = "Degraded", message = describe(available) }
  end
  return { status = "Progressing", message = describe(available) }
end
local ready = obj.status.readyReplicas or 0
local want = obj.status.replicas or 0
return { status = "Healthy", message = ready .. "/" .. want .. " replicas ready" }
