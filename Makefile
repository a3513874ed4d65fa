# The README's commands. `make run` serves the arena; `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: install run test lint browser clean

$(BIN)/arena: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

install: $(BIN)/arena

run: install
	$(BIN)/arena db upgrade
	$(BIN)/arena serve

# Browser tests use Debian's Chromium; installed here when missing and we may.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium; \
	  else echo "note: no chromium; browser tests will skip (sudo apt-get install chromium)"; fi; }

test: install browser
	$(BIN)/ruff check arena ratings tests benchmarks deploy
	$(BIN)/mypy ratings
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check arena ratings tests benchmarks deploy

clean:
	rm -rf $(VENV) .pytest_cache
