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
