#!/usr/bin/env bash
# Stops every process of the local test bed and leaves none behind. Keeps the binaries cache;
# removes the bed's state (etcd and PostgreSQL data) so the next start is clean. --keep-state keeps it.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/versions.env"
source "$here/lib.sh"
quiet=0; keep=0
for a in "$@"; do case "$a" in --quiet) quiet=1 ;; --keep-state) keep=1 ;; esac; done

# ArgoCD, when it was started on this bed (argocd.sh), goes first.
"$here/argocd.sh" down --quiet

# The real node first (node.sh), while the apiserver still answers: its pods, mounts and iptables rules.
if [[ -f "$BED_DIR/containerd.pid" || -f "$BED_DIR/kubelet.pid" || -f "$BED_DIR/kube-proxy.pid" ]]; then
  "$here/node.sh" down || log "the real node did not stop cleanly; see hack/testbed/node.sh down"
fi
stopped=()
for c in "${COMPONENTS[@]}"; do
  pid="$(pid_of "$c")"
  [[ -n "$pid" ]] || continue
  if kill -0 "$pid" 2>/dev/null; then
    # Each component runs in its own session: signal the whole group (moto forks workers).
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    stopped+=("$c")
  fi
done
for c in "${stopped[@]}"; do
  pid="$(pid_of "$c")"
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; fi
done
for c in "${COMPONENTS[@]}"; do rm -f "$BED_DIR/$c.pid"; done
if (( keep == 0 )) && [[ -d "$BED_DIR" ]]; then rm -rf "$BED_DIR/etcd-data" "$POSTGRES_DATA"; fi
rm -f "$ENV_FILE"
(( quiet )) || log "test bed stopped${stopped[*]:+ (${stopped[*]})}"
