# The README's two commands: `make run` and `make test`. Both set up everything they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
REPORTS := reports

.PHONY: run test docs paper dashboard lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# the web app's front-end files (lightweight-charts, the API docs' swagger-ui), copied from
# node_modules into the package by npm's postinstall: served by the app itself, no CDN
ASSETS := src/trading_strategy/web/static/vendor/.built
$(ASSETS): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Debian's chromium drives the browser tests (Playwright cannot download a browser here)
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get install -y chromium || (apt-get update && apt-get install -y chromium)

run: $(STAMP) $(ASSETS)
	mkdir -p $(REPORTS)
	$(BIN)/trading-strategy backtest --strategy sma_crossover --data GOOG \
		--param fast=10 --param slow=30 --commission 0.001 --slippage-bps 2 --size all-in \
		--json $(REPORTS)/goog_sma_crossover.json --html $(REPORTS)/goog_sma_crossover.html

STRATEGIES := sma_crossover rsi_reversion donchian_breakout

test: $(STAMP) $(ASSETS) $(CHROMIUM)
	$(BIN)/ruff check src tests bench docs
	$(BIN)/lint-imports
	$(BIN)/mypy
	@# each strategy package must reach 80% line coverage from its own tests alone
	@for s in $(STRATEGIES); do \
		$(BIN)/python -m pytest -q -p no:cacheprovider src/trading_strategy/strategies/$$s \
			--cov=trading_strategy.strategies.$$s --cov-fail-under=80 --cov-report=term \
			|| exit 1; \
	done
	$(BIN)/python -m pytest -p no:cacheprovider --ignore=tests/web/browser \
		--cov=trading_strategy --cov-report=term:skip-covered
	@# the browser tests in their own run: Playwright's sync API and pytest-asyncio's loop
	@# do not share one process
	$(BIN)/python -m pytest -q -p no:cacheprovider -p no:asyncio tests/web/browser
	$(MAKE) docs

# the documentation site, from docs/ and the docstrings (mkdocs.yml); --strict fails on a
# broken link, a page missing from the nav or a reference that no longer resolves
docs: $(STAMP)
	$(BIN)/python docs/gen_cli.py --check
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

paper: $(STAMP)
	$(BIN)/trading-strategy run --config examples/portfolio.toml --quiet

# the example paper portfolio replayed in the background (about a minute) while the web app
# serves its dashboard on http://127.0.0.1:8000/ (Ctrl-C stops both)
dashboard: $(STAMP) $(ASSETS)
	$(BIN)/trading-strategy run --config examples/portfolio.toml --quiet --speed 2000000 & \
		trap 'kill $$! 2>/dev/null' EXIT INT TERM; $(BIN)/trading-strategy serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench docs
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/backtest_throughput.py
	$(BIN)/python bench/risk_gate.py
	$(BIN)/python bench/latency.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/portfolio_throughput.py
	$(BIN)/python bench/cli_end_to_end.py
	$(BIN)/python bench/feed.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/sweep.py

clean:
	rm -rf $(VENV) $(REPORTS) site .pytest_cache .coverage
