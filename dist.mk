# dist.mk: the release file and the proofs that it works from every language. Included
# from the top Makefile (`include dist.mk`), which defines BUILD, DEFS, LIBS,
# SHARED, MODELS and the object rules.
#
#   make dist           dist/semlite.so: stripped, only libc and libm needed at run time
#                       (every matrix product is semlite's own kernel: no BLAS)
#   make libsemlite.a   build/core/libsemlite.a: compiled with SQLITE_CORE, for apps that
#                       link SQLite themselves and register semlite with sqlite3_auto_extension
#   make test-dist      the release file's dependencies and exports (tests/dist/check_deps.sh),
#                       then the shell binding test with an empty environment where no
#                       BLAS is reachable (tests/dist/clean_env.sh: a private mount namespace)
#   make test-bindings  Python's sqlite3, Node's better-sqlite3, the sqlite3 shell and a C
#                       program linking libsemlite.a, each against the C tests' values
#   make wheel          dist/semlite-<version>-py3-none-linux_x86_64.whl: the Python package
#                       (python/) with the release file, built with the standard library alone
#   make test-wheel     the wheel installed offline into a fresh venv and used from the
#                       repository root; sqlite-utils with it (tests/bindings/test_wheel.sh)
#   make npm            dist/semlite-<version>.tgz: npm/ packed with the release file
#   make test-npm       that tarball installed into a scratch project, loaded from Node
#                       through load(db) and getLoadablePath()

DIST_SO      = dist/semlite.so
CORE_LIB     = build/core/libsemlite.a
DIST_VERSION := $(shell sed -n 's/^\#define SEMLITE_VERSION "\(.*\)"/\1/p' ext/base/version.h)
WHEEL        = dist/semlite-$(DIST_VERSION)-py3-none-linux_x86_64.whl
NPM_TGZ      = dist/semlite-$(DIST_VERSION).tgz
# Debian's python3: its sqlite3 module allows extensions (a pyenv or python.org build may not).
BINDINGS_PYTHON ?= /usr/bin/python3
# Where node-gyp finds Node's headers without downloading them: Debian's nodejs/libnode-dev
# and NodeSource's nodejs both install them under /usr/include/node.
NODEDIR     ?= /usr

BINDINGS_ENV = SEMLITE_SHARED=$(SHARED) SEMLITE_MODELS=$(MODELS) SEMLITE_SO=$(abspath $(DIST_SO)) \
               SEMLITE_VERSION=$(DIST_VERSION)

.PHONY: dist libsemlite.a test-dist test-bindings test-npm bindings-node-modules wheel test-wheel npm

# Built in its own folder, so its objects never mix with the development build's (a
# sanitizer or SQLITE_CORE build may share the tree); the stripped copy is the release file, the unstripped one keeps
# the symbols for a debugger.
# build/embed_sql is shared by every build folder: made here first, so that two sub-makes
# running side by side (make -j) never both write it.
dist: build/embed_sql
	$(MAKE) BUILD=build/dist build/dist/semlite.so
	@mkdir -p dist
	strip --strip-unneeded -o $(DIST_SO) build/dist/semlite.so
	@echo "$(DIST_SO): $$(stat -c %s $(DIST_SO)) bytes"

libsemlite.a: build/embed_sql
	$(MAKE) BUILD=build/core DEFS=-DSQLITE_CORE $(CORE_LIB)

# libyaml's objects go in too, so an app links libsemlite.a alone as before.
$(BUILD)/libsemlite.a: $(call obj,$(EXT_SRC)) $(SQL_GEN)
	rm -rf $@ $(BUILD)/yaml-objects
	mkdir -p $(BUILD)/yaml-objects
	cd $(BUILD)/yaml-objects && ar x "$$($(CC) -print-file-name=libyaml.a)"
	ar rcs $@ $^ $(BUILD)/yaml-objects/*.o

test-dist: dist $(BUILD)/semlite.so twins
	sh tests/dist/check_deps.sh $(DIST_SO)
	$(BINDINGS_ENV) sh tests/dist/clean_env.sh sh tests/bindings/test_shell.sh

# ---- bindings ----

# The app links SQLite statically (Debian's libsqlite3.a), as apps that ship their own
# SQLite do, and semlite's archive beside it.
build/core/autoext: tests/bindings/autoext.c libsemlite.a
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wshadow -pthread -o $@ $< $(CORE_LIB) \
	  -l:libsqlite3.a -lm -ldl

# npm writes node_modules/.package-lock.json on every install (see bench/bench.mk).
# better-sqlite3 is built from source: its install script would otherwise try to download
# a prebuilt binary from a host CI cannot reach.
tests/bindings/node_modules/.package-lock.json: tests/bindings/package.json tests/bindings/package-lock.json
	cd tests/bindings && npm_config_build_from_source=true npm_config_nodedir=$(NODEDIR) \
	  npm ci --no-audit --no-fund
	@touch $@

bindings-node-modules: tests/bindings/node_modules/.package-lock.json

test-bindings: dist twins build/core/autoext bindings-node-modules $(WHEEL)
	$(BINDINGS_ENV) $(BINDINGS_PYTHON) tests/bindings/test_python.py
	$(BINDINGS_ENV) BINDINGS_PYTHON=$(BINDINGS_PYTHON) sh tests/bindings/test_wheel.sh $(WHEEL)
	$(BINDINGS_ENV) node tests/bindings/test_node.js
	$(BINDINGS_ENV) sh tests/bindings/test_shell.sh
	$(BINDINGS_ENV) build/core/autoext

# ---- Python package ----

# dist is a phony target: the wheel is rebuilt with it every time (a second).
$(WHEEL): dist tools/build_wheel.py python/pyproject.toml python/README.md $(wildcard python/semlite/*.py) LICENSE-MIT LICENSE-APACHE
	$(BINDINGS_PYTHON) tools/build_wheel.py $(DIST_SO) $(DIST_VERSION) dist

wheel: $(WHEEL)

test-wheel: $(WHEEL) twins
	$(BINDINGS_ENV) BINDINGS_PYTHON=$(BINDINGS_PYTHON) sh tests/bindings/test_wheel.sh $(WHEEL)

# ---- npm package ----

# npm pack only archives files: no better-sqlite3 (nor any build) is needed for it.
$(NPM_TGZ): dist npm/package.json npm/index.js npm/index.d.ts npm/README.md LICENSE-MIT LICENSE-APACHE
	rm -rf build/npm && mkdir -p build/npm/package
	cp npm/package.json npm/index.js npm/index.d.ts npm/README.md LICENSE-MIT LICENSE-APACHE \
	  $(DIST_SO) build/npm/package/
	cd build/npm && npm pack --silent ./package >/dev/null
	mv build/npm/$(notdir $(NPM_TGZ)) $@

npm: $(NPM_TGZ)

# The scratch project installs the tarball alone (no registry needed: it has no
# dependencies) and borrows better-sqlite3 from the binding tests' node_modules.
test-npm: $(NPM_TGZ) twins bindings-node-modules
	rm -rf build/npm/app && mkdir -p build/npm/app
	cd build/npm/app && echo '{"name":"scratch","private":true}' > package.json && \
	  npm install --no-audit --no-fund --offline $(abspath $(NPM_TGZ))
	$(BINDINGS_ENV) NODE_PATH=$(abspath tests/bindings/node_modules) \
	  node tests/bindings/test_npm.js $(abspath build/npm/app)
