# Set-up-and-go targets. Each creates (or reuses) the virtualenv in .venv on its own.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.pipeguard-installed
# The torch/torchvision pair these machines provide from local disk (see README).
TORCH  ?= torch==2.14.1 torchvision==0.29.1

.PHONY: scan test lint fixtures bench clean-venv

# The main job: scan the bundled sample folder against a 3-channel 64×64 contract
# (the table on stdout, the page with the problem images in fixtures-report.html).
# Exit 1 means "violations found", which is the point of the demo, so it is not a make error.
scan: $(STAMP)
	@$(BIN)/pipeguard scan fixtures/ --channels 3 --size 64x64 --html fixtures-report.html; status=$$?; \
	  if [ $$status -gt 1 ]; then exit $$status; fi

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# ruff over the package (configured in pyproject.toml); mypy over the public modules
lint: $(STAMP)
	$(BIN)/ruff check pipeguard
	$(BIN)/mypy

fixtures: $(STAMP)
	$(BIN)/python scripts/make_fixtures.py

bench: $(STAMP)
	$(BIN)/python scripts/bench_check.py

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

clean-venv:
	rm -rf $(VENV)
