# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CPS    ?= 5
# make test runs test files on this many workers (pytest-xdist; a file's tests share one
# worker, so a module's brokers or deployed site are set up once)
TEST_WORKERS ?= 2

INVENTORY    ?= ansible/inventory.yml
ANSIBLE_ARGS ?=

.PHONY: demo test bench lint system-deps deploy clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Debian packages: Mosquitto for the demo; for the tests also Chromium, openssl and
# what the Pi stand-in container needs (scripts/system-deps.sh says which).
system-deps:
	@sh scripts/system-deps.sh test

demo: $(STAMP)
	@sh scripts/system-deps.sh demo
	$(VENV)/bin/ev-sim --cps $(CPS)

INTEROP := tests/interop/node_modules/.installed

$(INTEROP): tests/interop/package-lock.json
	@sh scripts/interop-deps.sh

test: $(STAMP) system-deps $(INTEROP)
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -q -ra --durations=25 -n $(TEST_WORKERS) --dist loadfile

# The fleet of INVENTORY: a fresh wheel in dist/, then the playbook (ansible/README in
# the main README: "Deploying a fleet with Ansible").
deploy: $(STAMP)
	rm -f dist/evcharging-*.whl
	$(PY) -m pip wheel -q --no-deps -w dist .
	cd ansible && $(abspath $(VENV))/bin/ansible-playbook -i $(abspath $(INVENTORY)) site.yml $(ANSIBLE_ARGS)

bench: $(STAMP)
	$(PY) -m bench

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) test-output .pytest_cache tests/interop/node_modules
