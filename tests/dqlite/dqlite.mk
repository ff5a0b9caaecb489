# dqlite.mk: make test-dqlite, semlite on a 3-node dqlite cluster on 127.0.0.1 (tests/dqlite/,
# docs/deployment.md). Needs Debian's libdqlite-dev (tools/install-deps.sh). Included from the
# top Makefile.
#
#   build/dqlite/node     a dqlite node with semlite registered by sqlite3_auto_extension
#                         (libsemlite.a, dist.mk)
#   build/dqlite/client   the wire-protocol client run.sh drives the cluster with

DQLITE_BUILD = build/dqlite
DQLITE_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow -pthread

.PHONY: test-dqlite

$(DQLITE_BUILD)/node: tests/dqlite/node.c libsemlite.a
	@mkdir -p $(DQLITE_BUILD)
	$(CC) $(DQLITE_CFLAGS) -o $@ $< $(CORE_LIB) -ldqlite -lsqlite3 -lm -ldl

$(DQLITE_BUILD)/client: tests/dqlite/client.c tests/dqlite/wire.c tests/dqlite/wire.h
	@mkdir -p $(DQLITE_BUILD)
	$(CC) $(DQLITE_CFLAGS) -o $@ tests/dqlite/client.c tests/dqlite/wire.c

# Bounded: run.sh stops every node it started on any exit; timeout stops run.sh. Without
# libdqlite's header the run is reported skipped, never passed.
ifneq ($(wildcard /usr/include/dqlite.h),)
test-dqlite: $(DQLITE_BUILD)/node $(DQLITE_BUILD)/client twins
	SEMLITE_SHARED=$(SHARED) SEMLITE_MODELS=$(MODELS) timeout -k 5 120 sh tests/dqlite/run.sh $(DQLITE_BUILD)
else
test-dqlite:
	@echo "skip dqlite (libdqlite-dev is not installed: tools/install-deps.sh installs it)"
	@echo "0 passed, 0 failed, 1 skipped"
endif
