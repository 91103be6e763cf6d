# Quick start (see README.md):  make demo   |   make test
# Both create .venv/ in the repo root on first use and reuse it when it is complete.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
TORCH_SPEC ?= torch==2.13.0
# make demo runs egs/an4 (real continuous speech) without Kaldi, every system of its
# conf/nnet_systems.txt, and prints the RESULTS.md table; the FSDD demo is in egs/fsdd/README.md.
DEMO_RECIPE ?= egs/an4
export OMP_WAIT_POLICY := PASSIVE

DEPS_STAMP := $(VENV)/.deps-done
PKG_STAMP := $(VENV)/.pkg-done
TEST_STAMP := $(VENV)/.test-deps-done
PKG_INPUTS := setup.py requirements.txt $(wildcard bnn/bin/*.py) $(wildcard bnn/infer/csrc/*.c bnn/infer/csrc/*.h bnn/data/csrc/*.c)

.PHONY: demo test venv clean-venv

venv: $(PKG_STAMP)

$(DEPS_STAMP): requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first and explicitly: a bare 'torch' requirement would fetch a CUDA build
	$(PIP) install "$(TORCH_SPEC)"
	$(PIP) install setuptools wheel
	$(PIP) install -r requirements.txt
	@touch $@

$(PKG_STAMP): $(DEPS_STAMP) $(PKG_INPUTS)
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $@

$(TEST_STAMP): $(DEPS_STAMP) requirements-test.txt
	$(PIP) install -r requirements-test.txt
	@touch $@

demo: $(PKG_STAMP)
	cd $(DEMO_RECIPE) && ./run.sh
	@echo; cat $(DEMO_RECIPE)/RESULTS.md

test: $(PKG_STAMP) $(TEST_STAMP)
	$(PY) -m pytest -q --durations=30 tests

clean-venv:
	rm -rf $(VENV)
