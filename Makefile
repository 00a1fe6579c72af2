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

.PHONY: all build run test test-fast test-asan bench format clean deps deps-browser install deb FORCE

all: build

# Re-run the installer when it or the e2e package list changed, or a library went missing.
.deps/stamp: scripts/deps.sh scripts/node/package-lock.json $(E2E_DEPS)
	@sh scripts/deps.sh

deps:
	@pkg-config --exists libuv libcurl yyjson cmocka sqlite3 openssl 2>/dev/null || rm -f .deps/stamp
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

# Whole suite in the normal build, then again under ASan + UBSan; ends with ctest's summary line.
test: test-fast test-asan

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
