# provergym: the quick start is `make demo` and `make test`; both install first.
SHELL := /bin/bash
PYTHON ?= python3
PIP := $(PYTHON) -m pip
APT_PACKAGES := coq libcoq-mathcomp-ssreflect libcoq-hammer metamath metamath-databases
STAMP := .make-stamps

.PHONY: install apt pip demo test test-fast fuzz lint bench clean

install: apt pip

# Debian packages: update and install only when one is missing, so re-runs cost nothing.
apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

# torch first, pinned to the CPU wheel on disk, so no later requirement can pull a CUDA build.
pip: $(STAMP)/pip

$(STAMP)/pip: pyproject.toml
	@mkdir -p $(STAMP)
	@$(PYTHON) -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null \
	  || $(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[ml,dev,distributed]'
	@touch $@

lint: pip
	$(PYTHON) -m ruff check provergym corpora agents tests benchmarks examples docs
	lint-imports

test: install lint
	$(PYTHON) -m pytest -q -ra

test-fast: pip
	$(PYTHON) -m pytest -q -m "not slow"

# The property tests (tests/**/test_fuzz_*.py) with thousands of fresh examples each;
# `make test` runs them with a few derandomized ones (tests/conftest.py).
fuzz: pip
	HYPOTHESIS_PROFILE=fuzz $(PYTHON) -m pytest -q tests -k fuzz

demo: install
	$(PYTHON) -m provergym.cli demo

bench: install
	$(PYTHON) benchmarks/mm_verify.py
	$(PYTHON) benchmarks/mm_grammar.py
	$(PYTHON) benchmarks/mm_env_steps.py

clean:
	rm -rf $(STAMP) .pytest_cache .ruff_cache

# The API reference (pdoc, from the docstrings) into DOCS_OUT, an ignored folder: it is
# built, never committed. Fails on an import error, a pdoc warning or a broken reference.
DOCS_OUT ?= build/docs
.PHONY: docs examples
docs: pip
	$(PYTHON) docs/build_api.py --out $(DOCS_OUT)

# The runnable examples, in order, each with its small defaults (about 2 minutes).
examples: install
	@set -e; for script in examples/0*.py examples/ppo_metamath.py; do \
	  echo "== $$script"; $(PYTHON) $$script; done
