# MABEAM for Go. `make run` and `make test` are the two set-up commands the README promises.
GO      ?= go
BIN     := bin/experiment
PKGS    := ./...

.PHONY: all build run test test-short bench cluster-bench lint fmt clean reliability figures

all: build

build:
	@test -e $(BIN) || echo "make: the first build compiles SQLite (cgo) and prints nothing for about 2.5 minutes on 2 cores"
	$(GO) build -o $(BIN) ./cmd/experiment

# The quickstart: a default team on the built-in surrogate model; no network, no keys.
run: build
	./$(BIN) run experiments/quickstart.yaml --resume

# Vet, formatting and the race-enabled test suite (well under 5 minutes on 2 cores).
test: lint
	$(GO) test -race -count=1 $(PKGS)

test-short:
	$(GO) test -short -count=1 $(PKGS)

# Benchmarks that carry the figures the issues ask for (b.ReportMetric).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count=5 $(PKGS)

# The cluster figures: 3 worker processes against 1 on an I/O-bound grid
# (20 ms a call), the distributed path's overhead on CPU-bound jobs, and a
# cross-process coordination round's p95 (about a minute).
cluster-bench:
	$(GO) test -run '^$$' -bench 'WorkerProcesses|DistributedOverhead' -benchtime 3x ./cmd/experiment/
	$(GO) test -run '^$$' -bench 'CoordinationRound|Workers' ./cluster/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf bin out

# The run-integrity figures: 50 kills (SIGKILL, SIGINT, SIGTERM) at random
# moments with the LM cache on and off, each resumed run's full trial table
# equal to an uninterrupted run's; 8 concurrent ask processes × 50 rounds;
# 20 SIGKILLs each of a SIMBA, a BEACON, a gptswarm and an agentprune study, each resumed to the uninterrupted table.
reliability:
	MABEAM_RELIABILITY=50 MABEAM_ASKERS=8 MABEAM_ASK_ROUNDS=50 MABEAM_OPTIMIZER_KILLS=20 $(GO) test -count=1 -v -timeout 30m \
		-run 'TestReliability|TestConcurrentAsk|TestSIMBAResume|TestBEACONResume|TestGPTSwarmResume|TestAgentPruneResume' ./cmd/experiment/

# The optimizer figures: the five figure configs (quickstart, team composition,
# adversarial topology, cost-aware, the six-agent mesh) at every seed, printing
# each optimizer's test score, gain over the baseline and paired difference to
# random search, how often the adversary is cut off from the team answer and the
# edge optimizers' learnt adversary edges, the adversary's Shapley values, each
# optimizer's paired difference to the cost-matched self-consistency baseline,
# and the mesh's tokens a test question. About 3 minutes; the stores are kept in
# out/figures. MABEAM_FIGURES_SINGLE=1 adds the optimized single agent (an hour
# and more: BEACON's single agent runs ~900 trials), MABEAM_FIGURES_LMSEED=N
# another simulated world. Then the real-model calibration figure: a run through
# the loopback OpenAI-compatible server on the three families, calibrated, and
# each family's fitted accuracy against the real one on held-out questions, for
# two "real models" (a few seconds).
figures:
	mkdir -p out/figures
	MABEAM_FIGURES=1 MABEAM_FIGURES_DIR=$(CURDIR)/out/figures $(GO) test -count=1 -v -timeout 30m -run TestFigures ./experiments/
	MABEAM_FIGURES=1 $(GO) test -count=1 -v -run TestCalibrationFigure ./cmd/experiment/

# The analysis notebooks (notebooks/*.ipynb), executed on the stores they read:
# the quickstart's (make run) and the adversarial-topology experiment's, both
# run with --resume, so a second `make notebooks` reruns no study. Executed
# copies go to NB_OUT, never into notebooks/; a notebook there must be committed
# without outputs (notebooks-check). Prints each notebook's execution time.
NOTEBOOKS := $(wildcard notebooks/*.ipynb)
NB_OUT    ?= out/notebooks

.PHONY: notebooks notebooks-check

notebooks-check:
	@python3 -c 'import json, sys; bad = [f for f in sys.argv[1:] if any(c.get("outputs") or c.get("execution_count") is not None for c in json.load(open(f))["cells"])]; bad and sys.exit("notebooks with outputs (clear them: jupyter nbconvert --clear-output --inplace " + " ".join(bad) + ")")' $(NOTEBOOKS)

notebooks: notebooks-check run
	@s=$$(date +%s%N); ./$(BIN) run experiments/topology_adversary.yaml --resume || exit 1; e=$$(date +%s%N); \
	  echo "notebooks: experiments/topology_adversary.yaml run in $$(( (e - s) / 1000000000 )).$$(( (e - s) / 100000000 % 10 )) s"
	@mkdir -p $(NB_OUT)
	@for nb in $(NOTEBOOKS); do \
	  s=$$(date +%s%N); \
	  MABEAM_DB=$(CURDIR)/out/quickstart.db MABEAM_ADVERSARY_DB=$(CURDIR)/out/topology_adversary.db PYDEVD_DISABLE_FILE_VALIDATION=1 \
	    jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=600 --output-dir $(NB_OUT) "$$nb" || exit 1; \
	  e=$$(date +%s%N); \
	  echo "notebooks: $$nb executed in $$(( (e - s) / 1000000000 )).$$(( (e - s) / 100000000 % 10 )) s (jupyter nbconvert --execute, output in $(NB_OUT))"; \
	done
