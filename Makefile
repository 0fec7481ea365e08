# Two commands set everything up: `make demo` and `make test`. Each creates .venv on demand.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
DEMO_DIR ?= out/demo

.PHONY: demo test test-fast venv venv-test clean

# ivit-hls depends on the host driver, its own distribution in host/: both are installed
# from the checkout in one resolve (so pip never looks for ivit-host on a registry).
$(VENV)/.installed: pyproject.toml setup.py host/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ./host -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml setup.py host/pyproject.toml $(VENV)/.installed
	$(PIP) install -q -e ./host -e '.[test]'
	touch $@

venv: $(VENV)/.installed
venv-test: $(VENV)/.installed-test

# The main job: DeiT-S → integer model → Vitis HLS project, then a bit-exact g++ C-simulation.
demo: $(VENV)/.installed
	$(VENV)/bin/ivit-hls generate --model deit_s --out $(DEMO_DIR)/deit_s_hls --force
	$(VENV)/bin/ivit-hls csim $(DEMO_DIR)/deit_s_hls

test: $(VENV)/.installed-test
	$(VENV)/bin/python -m pytest -q

# The inner loop: everything but the slow, RTL-simulation and synthesis tests.
test-fast: $(VENV)/.installed-test
	$(VENV)/bin/python -m pytest -q -m "not slow and not rtl and not synth"

clean:
	rm -rf $(VENV) out build sim_build .pytest_cache
