-- ArgoCD health of a ConsumerQueue (an SQS queue, its dead-letter queue and its subscriptions):
-- Healthy once the operator has reconciled the current generation and reports Ready and Synced.
-- Messages in the dead-letter queue, and a redrive of them, are named in the message but do not
-- change the status: they are data for the team, not a fault of the queue.
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
local message = "SQS queue " .. (obj.status.queueName or "ready")
local backlog = obj.status.backlog
if backlog ~= nil then
  message = message .. ", " .. (backlog.visible or 0) .. " waiting"
  if (backlog.deadLetter or 0) > 0 then
    message = message .. ", " .. backlog.deadLetter .. " in the dead-letter queue"
  end
end
-- A dead-letter redrive is an operation on the queue, not its state: named, never a verdict, so a
-- sync never waits hours on a slow move and a failed one does not mark the queue Degraded for good.
local redrive = obj.status.redrive
if redrive ~= nil and redrive.requestId ~= nil then
  message = message .. ", redrive " .. redrive.requestId .. " " .. (redrive.state or "")
  if redrive.moved ~= nil then
    message = message .. " (" .. redrive.moved
    if redrive.toMove ~= nil then
      message = message .. " of " .. redrive.toMove
    end
    message = message .. " moved)"
  end
  if (redrive.state == "Failed" or redrive.state == "Waiting") and redrive.reason ~= nil then
    message = message .. ": " .. redrive.reason
  end
end
return { status = "Healthy", message = message }
