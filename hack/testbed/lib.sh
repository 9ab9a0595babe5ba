# Shared helpers of the test bed scripts.
BED_CACHE="${PUBSUB_BED_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pubsub-operator}"
log() { printf '[testbed] %s\n' "$*" >&2; }
die() { printf '[testbed] error: %s\n' "$*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required but not installed${2:+ ($2)}"; }
