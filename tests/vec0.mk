# tests/vec0.mk: sqlite-vec's own loadable extension, the peer of the compatibility test
# (tests/test_vec.c, test_compat). Included from the top Makefile; `make vec0` puts it at
# build/peers/vec0.so.
#
# It comes from npm (the one registry CI reaches), as the package sqlite-vec-linux-x64
# pinned to one version; the tarball is checked against its sha256 before anything is
# unpacked. The tests read the path from SEMLITE_VEC0 (VEC0_ENV below).

VEC0_VERSION = 0.1.9
VEC0_SHA256  = d75c33662b3ce690d122a5f4285a3acf2f6ba288c46331a7b1fad593b6da2908
VEC0_DIR     = build/peers
VEC0         = $(VEC0_DIR)/vec0.so
VEC0_TGZ     = $(VEC0_DIR)/sqlite-vec-linux-x64-$(VEC0_VERSION).tgz
VEC0_ENV     = SEMLITE_VEC0=$(abspath $(VEC0))

.PHONY: vec0
vec0: $(VEC0)

# Fetched into a scratch folder and moved into place only once its checksum matches, so a
# bad download is never taken for a good one by the next make.
$(VEC0_TGZ):
	rm -rf $(VEC0_DIR)/npm && mkdir -p $(VEC0_DIR)/npm
	cd $(VEC0_DIR)/npm && npm pack --silent sqlite-vec-linux-x64@$(VEC0_VERSION) >/dev/null
	echo "$(VEC0_SHA256)  $(VEC0_DIR)/npm/$(notdir $@)" | sha256sum --quiet -c
	mv $(VEC0_DIR)/npm/$(notdir $@) $@
	rm -rf $(VEC0_DIR)/npm

$(VEC0): $(VEC0_TGZ)
	rm -rf $(VEC0_DIR)/package
	tar -xzf $< -C $(VEC0_DIR) package/vec0.so
	mv $(VEC0_DIR)/package/vec0.so $@
	rmdir $(VEC0_DIR)/package
	@touch $@   # tar keeps the packaged (older) mtime; make must see the file as new

# A current SQLite for the same tests (`make test-sqlite-current`): the amalgamation that
# npm's better-sqlite3 ships (deps/sqlite3/sqlite3.c, SQLite 3.5x), built as
# libsqlite3.so.0 and put first on the library path of tests/run, so LIMIT as k and the
# subtype rules of 3.45+ run too (Debian 12's own SQLite is 3.40). Pinned and checked
# like vec0.so above.
SQLITE_CURRENT_PKG    = better-sqlite3
SQLITE_CURRENT_PKGVER = 12.9.0
SQLITE_CURRENT_SHA256 = ad0e29650140c49d0335b1d356596aa8166f12b758f418a98446130e3278f250
SQLITE_CURRENT_DIR    = build/peers/sqlite-current
SQLITE_CURRENT        = $(SQLITE_CURRENT_DIR)/libsqlite3.so.0
SQLITE_CURRENT_TGZ    = $(SQLITE_CURRENT_DIR)/$(SQLITE_CURRENT_PKG)-$(SQLITE_CURRENT_PKGVER).tgz

$(SQLITE_CURRENT_TGZ):
	rm -rf $(SQLITE_CURRENT_DIR)/npm && mkdir -p $(SQLITE_CURRENT_DIR)/npm
	cd $(SQLITE_CURRENT_DIR)/npm && npm pack --silent $(SQLITE_CURRENT_PKG)@$(SQLITE_CURRENT_PKGVER) >/dev/null
	echo "$(SQLITE_CURRENT_SHA256)  $(SQLITE_CURRENT_DIR)/npm/$(notdir $@)" | sha256sum --quiet -c
	mv $(SQLITE_CURRENT_DIR)/npm/$(notdir $@) $@
	rm -rf $(SQLITE_CURRENT_DIR)/npm

# Debian's compile options that the tests can see (load_extension, column metadata).
$(SQLITE_CURRENT): $(SQLITE_CURRENT_TGZ)
	rm -rf $(SQLITE_CURRENT_DIR)/package
	tar -xzf $< -C $(SQLITE_CURRENT_DIR) package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h
	$(CC) -O2 -shared -fPIC -DSQLITE_ENABLE_LOAD_EXTENSION=1 -DSQLITE_ENABLE_COLUMN_METADATA -DSQLITE_THREADSAFE=1 \
	  -o $@ $(SQLITE_CURRENT_DIR)/package/deps/sqlite3/sqlite3.c -lpthread -ldl -lm
	rm -rf $(SQLITE_CURRENT_DIR)/package

.PHONY: sqlite-current test-sqlite-current
sqlite-current: $(SQLITE_CURRENT)

test-sqlite-current: $(BUILD)/semlite.so $(BUILD)/tests/run twins vec0 $(SQLITE_CURRENT)
	LD_LIBRARY_PATH=$(abspath $(SQLITE_CURRENT_DIR)) $(TEST_ENV) $(BUILD)/tests/run $(SQLITE_CURRENT_SUITES)

# The tests to run there: all of `make test` but
# - the four that run Debian's sqlite3 shell, which refuses any library but the one it
#   was built with ("SQLite header and source version mismatch"), and
# - the two slowest, quant.rerank_spearman and bitexact.avx2 (about half of the suite's
#   time): the model's and the kernels' numbers, the same on any SQLite (as asan-test).
# Name prefixes include, -prefixes exclude (tests/main.c).
SQLITE_CURRENT_SUITES ?= -model_files.preload_fifo -metrics.limits_defaults -metrics.preload_env -cache.killed_writer \
  -quant.rerank_spearman -bitexact.avx2
