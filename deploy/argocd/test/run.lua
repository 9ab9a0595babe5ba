-- Runs ArgoCD health checks the way ArgoCD does: each health.lua as a chunk with the resource in
-- the global `obj`, in a sandbox with only the libraries ArgoCD gives scripts, and compares the
-- returned status and message with the case. Usage: lua5.1 run.lua cases.lua (from generate.js).
local cases = dofile(arg[1])

local function sandbox(obj)
  return {
    obj = obj,
    ipairs = ipairs, pairs = pairs, next = next, type = type, select = select,
    tostring = tostring, tonumber = tonumber, error = error, pcall = pcall,
    string = string, table = table, math = math,
  }
end

local passed, failed = 0, 0
for _, case in ipairs(cases) do
  local chunk, err = loadfile(case.script)
  local ok, hs
  if chunk == nil then
    ok, hs = false, err
  else
    setfenv(chunk, sandbox(case.obj))
    ok, hs = pcall(chunk)
  end
  if ok and type(hs) == "table" and hs.status == case.status and hs.message == case.message then
    passed = passed + 1
    print("ok   " .. case.name .. " -> " .. case.status)
  else
    failed = failed + 1
    local got = ok and type(hs) == "table" and (tostring(hs.status) .. " " .. string.format("%q", tostring(hs.message))) or tostring(hs)
    print("FAIL " .. case.name)
    print("     want " .. case.status .. " " .. string.format("%q", case.message))
    print("     got  " .. got)
  end
end
print(passed .. " passed, " .. failed .. " failed")
os.exit(failed == 0 and 0 or 1)
