# dispo: the two commands that matter are `make run` and `make test`.
GO      ?= go
BIN     := bin/dispo
DATA    ?= data
PKGS    := ./...

.PHONY: run build test browser test-race bench fuzz crash lint check-imports fixtures clean

ADDR    ?= 127.0.0.1:8080

run: build ## build, then serve the demo ledger (embedded log in $(DATA)) on $(ADDR)
	./$(BIN) serve --demo --data $(DATA) --addr $(ADDR)

build:
	$(GO) build -o $(BIN) ./cmd/dispo

test: lint check-imports browser test-race ## every test, as CI runs them
	DISPO_SCREENS=$(CURDIR)/test-artefacts/screens $(GO) test -count=1 $(PKGS)
	@echo "screenshots of every page (desktop and phone): test-artefacts/screens/"

# The browser tests (cmd/dispo/browser_test.go) drive Debian's chromium.
# Installed every time: apt-get is a no-op when it is there, and a machine
# that happens to have some other chromium proves nothing. Not root: say
# what to run.
browser:
	@if [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; } || \
		{ echo "make browser: cannot install Debian's chromium (apt-get install -y chromium)"; exit 1; }; \
	elif ! command -v chromium >/dev/null; then \
		echo "make browser: the browser tests need Debian's chromium: run sudo apt-get install -y chromium"; exit 1; \
	fi
	@chromium --version 2>/dev/null

# The packages with goroutines or shared state of their own, under the race
# detector; go test prints each one's time (about 100 s in all on 2 cores).
# Left out: cmd/dispo, whose crash trials take a minute even without it, and
# esdblog (30-40 s under it), whose concurrency is the stand-in's, raced here.
RACE_PKGS := ./domain/ ./projections/ ./adapters/memlog/ ./adapters/boltlog/ \
	./adapters/httpapi/ ./adapters/httpauth/ ./adapters/adminsock/ ./adapters/userfile/ \
	./adapters/jsonl/ ./adapters/esdblog/standin/ ./adapters/web/ ./adapters/fhir/
test-race:
	$(GO) test -race -count=1 $(RACE_PKGS)

# Benchmarks print each figure beside its floor (fsync rate, raw cursor scan,
# a constant handler) measured in the same run. docs/BENCHMARKS.md has the figures.
BENCH = $(GO) test -run='^$$' -benchmem
bench:
	$(BENCH) -bench='Append' -benchtime=30000x ./adapters/boltlog/ | tee bench.out
	$(BENCH) -bench='CursorScanFloor|ReadAll' -benchtime=3x ./adapters/boltlog/ | tee -a bench.out
	$(BENCH) -bench=. ./projections/ ./adapters/jsonl/ | tee -a bench.out
	$(BENCH) -bench=Replay -benchtime=3x ./cmd/dispo/ | tee -a bench.out
	$(BENCH) -bench=HTTPReads -benchtime=1x ./adapters/httpapi/ | tee -a bench.out
	$(BENCH) -bench=HTTPDeclarations -benchtime=1x ./adapters/httpapi/ | tee -a bench.out
	$(BENCH) -bench=Pages -benchtime=300x -count=5 ./adapters/web/ | tee -a bench.out
	$(BENCH) -bench='FHIR|Directory' -benchtime=300x -count=5 ./adapters/fhir/ | tee -a bench.out
	$(BENCH) -bench=LiveFanOut -benchtime=1x -count=3 ./cmd/dispo/ | tee -a bench.out

# The long campaigns (make test runs a few dozen trials of each): a served
# log killed TRIALS times under 16 clients on the embedded log, ESDB_TRIALS
# times on the EventStoreDB stand-in (each trial there re-reads the whole
# store through gRPC: 300 take about 32 min), every acknowledged command
# checked after each restart; and TRIALS damaged files through every
# reader. The figures land in crash-report/; docs/RELIABILITY.md keeps the
# last campaign's.
TRIALS ?= 1000
ESDB_TRIALS ?= 300
crash:
	mkdir -p crash-report
	DISPO_CRASH_TRIALS=$(TRIALS) DISPO_CRASH_REPORT=$(CURDIR)/crash-report \
		$(GO) test -count=1 -timeout=0 -run='^TestCrashTrials$$' -v ./cmd/dispo/ > crash-report/crash.out 2>&1; \
		s=$$?; grep -v '^=== RUN' crash-report/crash.out; exit $$s
	DISPO_CRASH_TRIALS=$(ESDB_TRIALS) DISPO_CRASH_REPORT=$(CURDIR)/crash-report \
		$(GO) test -count=1 -timeout=0 -run='^TestCrashTrialsOnEventStore$$' -v ./cmd/dispo/ > crash-report/esdb.out 2>&1; \
		s=$$?; grep -v '^=== RUN' crash-report/esdb.out; exit $$s
	DISPO_DAMAGE_TRIALS=$(TRIALS) $(GO) test -count=1 -timeout=0 -run='^TestDamageTrials$$' -v ./adapters/boltlog/ > crash-report/damage.out 2>&1; \
		s=$$?; cat crash-report/damage.out; exit $$s

FUZZTIME ?= 30s
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzDecodeRecord -fuzztime=$(FUZZTIME) ./adapters/boltlog/
	$(GO) test -run='^$$' -fuzz=FuzzDamagedFile -fuzztime=$(FUZZTIME) -fuzzminimizetime=5s ./adapters/boltlog/
	$(GO) test -run='^$$' -fuzz=FuzzUnmarshal -fuzztime=$(FUZZTIME) ./adapters/jsonl/
	$(GO) test -run='^$$' -fuzz=FuzzDecodeEvent -fuzztime=$(FUZZTIME) ./domain/
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./adapters/userfile/
	$(GO) test -run='^$$' -fuzz=FuzzParsePatch -fuzztime=$(FUZZTIME) ./adapters/fhir/
	$(GO) test -run='^$$' -fuzz=FuzzParsePath -fuzztime=$(FUZZTIME) ./adapters/fhir/
	$(GO) test -run='^$$' -fuzz=FuzzParseQuery -fuzztime=$(FUZZTIME) ./adapters/fhir/

# Pinned, so that a new release's new checks do not turn the build red on
# their own: the newest that builds with this module's Go (1.26).
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)
	$(STATICCHECK) $(PKGS)

# domain is the shared vocabulary: standard library only, over its whole
# dependency closure. A check of the direct imports' paths for a dot lets
# through any package of this module (dispo/...) and all it drags in.
# On failure, the shortest import chain to each offender, nearest first.
check-imports:
	@deps=$$($(GO) list -deps -f '{{if not .Standard}}{{.ImportPath}}{{end}}' ./domain/) || exit 1; \
	bad=$$(echo "$$deps" | grep -v -x -e '' -e 'dispo/domain'); \
	if [ -n "$$bad" ]; then \
		echo "check-imports: domain may depend on the standard library only; it depends on $$(echo "$$bad" | wc -l) other packages:"; \
		$(GO) list -deps -f '{{.ImportPath}}{{range .Imports}} {{.}}{{end}}' ./domain/ | awk -v bad="$$(echo $$bad)" ' \
			{ n[$$1] = NF - 1; for (i = 2; i <= NF; i++) imp[$$1, i - 1] = $$i } \
			END { \
				split(bad, b, " "); for (k in b) isbad[b[k]] = 1; \
				q[1] = "dispo/domain"; seen[q[1]] = 1; t = 1; \
				for (h = 1; h <= t; h++) for (i = 1; i <= n[q[h]]; i++) { \
					c = imp[q[h], i]; if (!(c in seen)) { seen[c] = 1; from[c] = q[h]; q[++t] = c } \
				} \
				for (h = 1; h <= t; h++) if (q[h] in isbad && ++shown <= 10) { \
					s = q[h]; for (p = q[h]; p in from; p = from[p]) s = from[p] " -> " s; print "  " s \
				} \
				if (shown > 10) print "  ... and " shown - 10 " more" \
			}'; \
		exit 1; \
	fi

fixtures:
	$(GO) run ./cmd/dispo-fixtures -out eventlog-fixtures

clean:
	rm -rf bin bench.out crash-report test-artefacts
