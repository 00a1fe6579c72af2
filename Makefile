# aigate: the two commands a user needs are `make run` and `make test`; both install what is
# missing (scripts/deps.sh, run only when its stamp is stale or a library is gone), then build.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja
E2E_DEPS   := $(wildcard tests/e2e/package.json tests/e2e/package-lock.json)

.PHONY: all build run test test-fast test-asan bench format clean deps deps-browser

all: build

# Re-run the installer when it or the e2e package list changed, or a library went missing.
.deps/stamp: scripts/deps.sh $(E2E_DEPS)
	@sh scripts/deps.sh

deps:
	@pkg-config --exists libuv libcurl yyjson cmocka sqlite3 openssl 2>/dev/null || rm -f .deps/stamp
	@[ -z "$(E2E_DEPS)" ] || [ -d tests/e2e/node_modules ] || rm -f .deps/stamp
	@$(MAKE) --no-print-directory .deps/stamp

$(BUILD)/build.ninja: CMakeLists.txt | deps
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/aigate

# The web UI's browser test needs Debian's Chromium; only the test targets install it.
deps-browser:
	@[ -x /usr/bin/chromium ] || AIGATE_DEPS_BROWSER=1 sh scripts/deps.sh

test-fast: build deps-browser
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

$(ASAN_BUILD)/build.ninja: CMakeLists.txt | deps
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug -DAIGATE_SANITIZE=ON >/dev/null

test-asan: deps deps-browser $(ASAN_BUILD)/build.ninja
	@cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS)

# Whole suite in the normal build, then again under ASan + UBSan; ends with ctest's summary line.
test: test-fast test-asan

bench: deps
	@sh bench/run.sh

format:
	@clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
