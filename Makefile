# aigate: the two commands a user needs are `make run` and `make test`; both install what is
# missing (scripts/deps.sh, run only when its stamp is stale or a library is gone), then build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja
E2E_DEPS   := $(wildcard tests/e2e/package.json tests/e2e/package-lock.json)
# AIGATE_WEB_UI=OFF builds without the web UI on purpose (otherwise a UI that cannot be built
# stops the build); PREFIX and DESTDIR are for `make install`.
AIGATE_WEB_UI ?= ON
PREFIX     ?= /usr/local
CMAKE_OPTS := -DAIGATE_WEB_UI=$(AIGATE_WEB_UI)

.PHONY: all build run test test-fast test-asan test-fuzz fuzz fuzz-campaign bench format clean deps deps-browser install deb FORCE \
	lint check-format coverage

all: build

# Re-run the installer when it or the e2e package list changed, or a library went missing.
.deps/stamp: scripts/deps.sh scripts/node/package-lock.json $(E2E_DEPS)
	@sh scripts/deps.sh

deps:
	@pkg-config --exists libuv libcurl yyjson cmocka sqlite3 openssl libpq 2>/dev/null || rm -f .deps/stamp
	@[ -z "$(E2E_DEPS)" ] || [ -d tests/e2e/node_modules ] || rm -f .deps/stamp
	@sh scripts/node/install.sh --check || rm -f .deps/stamp
	@$(MAKE) --no-print-directory .deps/stamp

# The options a build directory was configured with; changing one (AIGATE_WEB_UI=...) re-runs cmake.
%/.make-opts: FORCE
	@mkdir -p $(@D); echo '$(CMAKE_OPTS)' | cmp -s - $@ 2>/dev/null || echo '$(CMAKE_OPTS)' >$@

$(BUILD)/build.ninja: CMakeLists.txt $(BUILD)/.make-opts | deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_OPTS) >/dev/null
	@touch $@

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/aigate

# The web UI's browser test needs Debian's Chromium; only the test targets install it.
deps-browser:
	@[ -x /usr/bin/chromium ] || AIGATE_DEPS_BROWSER=1 sh scripts/deps.sh

test-fast: build deps-browser
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt $(ASAN_BUILD)/.make-opts | deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DAIGATE_SANITIZE=ON $(CMAKE_OPTS) >/dev/null
	@touch $@

test-asan: deps deps-browser $(ASAN_BUILD)/build.ninja
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# libFuzzer harnesses (tests/fuzz/) under ASan + UBSan, built with clang in $(FUZZ_BUILD).
# `make fuzz` (= test-fuzz): every harness for a short smoke run (AIGATE_FUZZ_SECONDS, default 20).
# `make fuzz-campaign`: FUZZ_SECONDS per harness, one at a time at nice 19, on a corpus kept in
# $(FUZZ_CORPUS)/corpus; ends with a summary line per harness (docs/security.md, "Fuzzing").
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_CORPUS  ?= $(FUZZ_BUILD)/campaign

$(FUZZ_BUILD)/build.ninja: CMakeLists.txt tests/fuzz/CMakeLists.txt | deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DAIGATE_FUZZ=ON -DAIGATE_WEB_UI=OFF >/dev/null
	@touch $@

fuzz test-fuzz: deps $(FUZZ_BUILD)/build.ninja
	@cmake --build $(FUZZ_BUILD) --target fuzz_all -j $(JOBS)
	cd $(FUZZ_BUILD) && ctest --output-on-failure -j $(JOBS) -R '^fuzz\.'

fuzz-campaign: deps $(FUZZ_BUILD)/build.ninja
	@cmake --build $(FUZZ_BUILD) --target fuzz_all -j $(JOBS)
	sh tests/fuzz/campaign.sh $(FUZZ_BUILD)/tests/fuzz $(FUZZ_SECONDS) $(abspath $(FUZZ_CORPUS))

# Whole suite in the normal build, the fuzz smoke, then the suite again under ASan + UBSan; ends
# with ctest's summary line.
test: test-fast test-fuzz test-asan

# Installs aigate, its man page and systemd units under PREFIX (default /usr/local), staged
# below DESTDIR when set; see docs/install.md.
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# A Debian package (web UI embedded) in $(BUILD)/deb/; its test: ctest -R packaging (docs/install.md).
deb: build
	@cd $(BUILD) && cpack -G DEB >/dev/null && ls -1 "$(CURDIR)/$(BUILD)"/deb/*.deb

bench: deps
	@sh bench/run.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

# The C files check-format and lint look at: src/ and tests/, tracked or new (git's ignore rules
# leave out build directories and node_modules; there is no vendored C under src/ or tests/).
FORMAT_FILES = git ls-files --cached --others --exclude-standard 'src/*.[ch]' 'tests/*.[ch]'

# Fails, naming each line, when a C file under src/ or tests/ is not as .clang-format wants it.
check-format: deps
	@$(FORMAT_FILES) | xargs clang-format --dry-run -Werror
	@echo "check-format: clean"

# clang-tidy (.clang-tidy's checks, over $(BUILD)/compile_commands.json, LINT_JOBS files at a time)
# and cppcheck over src/; fails on any finding (scripts/lint.sh says what each runs and why).
LINT_JOBS ?= 2
lint: deps $(BUILD)/build.ninja
	@ninja -C $(BUILD) build.ninja >/dev/null
	@sh scripts/lint.sh $(BUILD) $(LINT_JOBS)

# Line coverage of src/ by the unit and integration tests: a Debug build with --coverage in
# $(COV_BUILD) (without the web UI), ctest -R '^(unit|integration)\.', then lcov; prints the
# figure, HTML report in $(COV_BUILD)/html. A failed test still gets its report, and then fails
# the target. lcov is installed only for this target.
COV_BUILD ?= build-coverage
$(COV_BUILD)/build.ninja: CMakeLists.txt | deps
	@cmake -S . -B $(COV_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DAIGATE_WEB_UI=OFF \
		-DCMAKE_C_FLAGS=--coverage -DCMAKE_EXE_LINKER_FLAGS=--coverage >/dev/null
	@touch $@

coverage: deps $(COV_BUILD)/build.ninja
	@command -v lcov >/dev/null 2>&1 || AIGATE_DEPS_COVERAGE=1 sh scripts/deps.sh
	@cmake --build $(COV_BUILD) -j $(JOBS)
	@lcov -q --zerocounters -d $(COV_BUILD)
	@rc=0; (cd $(COV_BUILD) && ctest --output-on-failure -j $(JOBS) -R '^(unit|integration)\.') || rc=$$?; \
	lcov -q -c -d $(COV_BUILD) -o $(COV_BUILD)/all.info && \
	lcov -q -e $(COV_BUILD)/all.info '$(CURDIR)/src/*' -o $(COV_BUILD)/coverage.info && \
	genhtml -q $(COV_BUILD)/coverage.info -o $(COV_BUILD)/html && \
	lcov --summary $(COV_BUILD)/coverage.info 2>&1 | grep -E 'lines|functions' || rc=1; \
	[ $$rc = 0 ] || echo "coverage: FAILED (a test or the report); the figure counts the tests that ran"; \
	exit $$rc

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(COV_BUILD)
