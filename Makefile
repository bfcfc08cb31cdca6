# ngx_sg_sign_module: build, demo, tests.
#
#   make          build the dynamic module, its fault-injection build, the
#                 core's unit tests and build/schema_driver
#   make schemas  build/sg_sign_schemas.c, the built-in schemas (schemas/)
#                 for builds that compile src/ themselves
#   make run      demo: gateway on 127.0.0.1:8080, mock provider on :8081
#   make test     every test, through prove (fuzz smoke and oracle included),
#                 then again against the packaged module (deb-test)
#   make fuzz     every libFuzzer target for FUZZ_SECONDS each
#   make asan     the t/ suite with the module under ASan + UBSan
#   make valgrind the t/ suite with nginx under valgrind
#   make bench    gateway vs plain proxying vs the RSA limit (bench/)
#   make soak     5 minutes of load with key swaps and reloads (bench/)
#   make deb      the Debian package (debian/), built in build/deb/, lintian
#   make deb-test the integration suite against the packaged module
#   make deb-install-test  installs the package, nginx -t, purges it (root)
#   make clean

SHELL      := /bin/bash

NGX_SRC    ?= /usr/share/nginx/src
NGINX      ?= /usr/sbin/nginx
BUILD      := $(CURDIR)/build
NGX_BUILD  := $(BUILD)/nginx
MODULE     := $(BUILD)/ngx_http_sg_sign_module.so
FAULT_BUILD  := $(BUILD)/faults/nginx
FAULT_MODULE := $(BUILD)/faults/ngx_http_sg_sign_module.so
NOTHREADS_BUILD  := $(BUILD)/nothreads/nginx
NOTHREADS_MODULE := $(BUILD)/nothreads/ngx_http_sg_sign_module.so

# the Debian packages the build, the demo and the tests use
DEB_PKGS   := nginx nginx-dev libssl-dev libjsmn-dev libpcre2-dev gcc make \
              perl openssl libcrypt-openssl-rsa-perl curl nodejs clang-14 \
              libclang-rt-14-dev valgrind wrk json-schema-test-suite \
              node-ajv iso-codes libp11-kit-dev dpkg-dev debhelper \
              fakeroot lintian git binutils gdb prometheus \
              softhsm2 opensc p11-kit

CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Werror -DOPENSSL_API_COMPAT=30000 -DOPENSSL_NO_DEPRECATED
GLUE       := $(wildcard ngx_sg_sign_*.[ch])
CORE_SRCS  := $(wildcard src/*.c)
CORE_HDRS  := $(wildcard src/*.h)
CORE_LIBS  := -lpcre2-8 -lcrypto -lm -lp11-kit -ldl
# PKCS#11 keys (src/sg_pkcs11.c): p11-kit's headers and its proxy module
P11_PROXY  := $(shell pkg-config --variable=proxy_module p11-kit-1)
P11_CFLAGS := $(shell pkg-config --cflags p11-kit-1) \
              -DSG_PKCS11_PROXY='"$(P11_PROXY)"'

# the built-in schemas, embedded by schemas/embed.sh: nginx's configure runs
# it (config) for the module; SCHEMAS_C is the same file for the builds
# that compile src/ themselves (unit tests, fuzz/, bench/)
SCHEMAS    := $(shell find schemas -name '.?*' -prune -o -type f \
                  -name '*.json' -print | LC_ALL=C sort)
SCHEMAS_C  := $(BUILD)/sg_sign_schemas.c
# rewritten (as make reads this file) when a schema file appears or goes
# away, so that what embeds them is made again then too, not only when one
# of them changes
SCHEMA_LIST := $(BUILD)/schemas.list
SCHEMA_DEPS := schemas/embed.sh $(SCHEMAS) $(SCHEMA_LIST)
$(shell mkdir -p $(BUILD) && echo '$(SCHEMAS)' | cmp -s - $(SCHEMA_LIST) \
    || echo '$(SCHEMAS)' >$(SCHEMA_LIST))

UNIT_SRCS  := $(wildcard t/unit/test_*.c)
UNIT_BINS  := $(patsubst t/unit/test_%.c,$(BUILD)/unit/%.t,$(UNIT_SRCS))

FUZZ_SECONDS ?= 300

.PHONY: all deps module faults nothreads schemas unit test run fuzz asan valgrind \
        bench soak clean deb deb-test deb-install-test

all: module faults unit

# Installs what is missing; a no-op on a machine that has everything.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# nginx-dev ships the tree for building modules; configure a copy of it with
# the installed binary's flags so load_module accepts the result.
# $(1): the copy's directory, $(2): extra compiler flags, $(3): a flag of
# the binary's to leave out
define configure_nginx
	rm -rf $(1)
	mkdir -p $(dir $(1))
	cp -r $(NGX_SRC) $(1)
	cd $(1) && . ./conf_flags && \
	    flags=(); for f in "$${NGX_CONF_FLAGS[@]}"; do \
	        [ "$$f" = "$(3)" ] || flags+=("$$f"); done; \
	    ./configure "$${flags[@]}" \
	        --with-cc-opt='-g -O2 -fPIC -Wall -Wextra -Werror $(2)' \
	        --add-dynamic-module=$(CURDIR) >$(1).configure.log
endef

$(SCHEMAS_C): $(SCHEMA_DEPS)
	sh schemas/embed.sh $@ schemas

schemas: $(SCHEMAS_C)

$(NGX_BUILD)/objs/Makefile: config $(SCHEMA_DEPS)
	$(call configure_nginx,$(NGX_BUILD),)

$(MODULE): $(NGX_BUILD)/objs/Makefile $(GLUE) $(CORE_SRCS) $(CORE_HDRS)
	$(MAKE) -C $(NGX_BUILD) -f objs/Makefile modules
	cp $(NGX_BUILD)/objs/ngx_http_sg_sign_module.so $@

# the fault-injection build (t/alloc_faults.t): NGX_SG_SIGN_FAULTS
$(FAULT_BUILD)/objs/Makefile: config $(SCHEMA_DEPS)
	$(call configure_nginx,$(FAULT_BUILD),-DNGX_SG_SIGN_FAULTS=1)

$(FAULT_MODULE): $(FAULT_BUILD)/objs/Makefile $(GLUE) $(CORE_SRCS) $(CORE_HDRS)
	$(MAKE) -C $(FAULT_BUILD) -f objs/Makefile modules
	cp $(FAULT_BUILD)/objs/ngx_http_sg_sign_module.so $@

# an nginx without --with-threads: the module compiles there too (inline
# signing only); make test builds it, nothing loads it
$(NOTHREADS_BUILD)/objs/Makefile: config $(SCHEMA_DEPS)
	$(call configure_nginx,$(NOTHREADS_BUILD),,--with-threads)

$(NOTHREADS_MODULE): $(NOTHREADS_BUILD)/objs/Makefile $(GLUE) $(CORE_SRCS) \
                     $(CORE_HDRS)
	$(MAKE) -C $(NOTHREADS_BUILD) -f objs/Makefile modules
	cp $(NOTHREADS_BUILD)/objs/ngx_http_sg_sign_module.so $@

module: $(MODULE)

nothreads: $(NOTHREADS_MODULE)

faults: $(FAULT_MODULE)

$(BUILD)/unit/%.t: t/unit/test_%.c t/unit/tap.h $(CORE_SRCS) $(CORE_HDRS) \
                   $(SCHEMAS_C)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS) $(WARN) $(P11_CFLAGS) -Isrc -It/unit -o $@ $< \
	    $(CORE_SRCS) $(SCHEMAS_C) \
	    $(CORE_LIBS) -pthread

# the engine from the command line (t/ajv_diff.t, the test-suite runner)
$(BUILD)/schema_driver: t/unit/schema_driver.c $(CORE_SRCS) $(CORE_HDRS) \
                        $(SCHEMAS_C)
	@mkdir -p $(BUILD)
	$(CC) $(CFLAGS) $(WARN) $(P11_CFLAGS) -Isrc -o $@ $< $(CORE_SRCS) \
	    $(SCHEMAS_C) \
	    $(CORE_LIBS)

unit: $(UNIT_BINS) $(BUILD)/schema_driver

test: deps
	$(MAKE) all nothreads
	prove -e '' $(UNIT_BINS)
	prove t/*.t
	$(MAKE) deb-test

run: deps
	$(MAKE) module
	demo/run.sh

fuzz: deps
	$(MAKE) schemas
	fuzz/run.sh $(FUZZ_SECONDS)

asan: deps
	bash t/sanitize.sh

valgrind: deps
	$(MAKE) module
	bash t/valgrind.sh

bench: deps
	$(MAKE) module schemas
	bench/bench_core.sh
	bench/bench.sh
	bench/held_memory.sh
	bench/secure_heap.sh
	bench/metrics_cost.sh
	bench/bench_hsm.sh

soak: deps
	$(MAKE) module
	bench/soak.sh

# The package, built out of tree by nginx-dev's nginx_mod build system from
# a copy of the tracked and untracked-but-not-ignored files in build/deb/src
# (so debian/'s build artefacts never land in the checkout); lintian must
# report no error.
DEB_DIR     := $(BUILD)/deb
DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' debian/changelog)
DEB_ARCH    := $(shell dpkg --print-architecture)
DEB_FILE    := $(DEB_DIR)/libnginx-mod-http-sg-sign_$(DEB_VERSION)_$(DEB_ARCH).deb
DEB_CHANGES := $(DEB_DIR)/ngx-sg-sign_$(DEB_VERSION)_$(DEB_ARCH).changes
DEB_ROOT    := $(DEB_DIR)/root
# the suite's tests that load the module, and t/package.t; not
# t/alloc_faults.t, which needs the fault-injection hooks a package lacks
DEB_TESTS   := $(filter-out t/alloc_faults.t, \
                   $(shell grep -l 'SgSign::Test->new' t/*.t))

deb: deps
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src
	set -o pipefail; \
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	    git ls-files -z --cached --others --exclude-standard \
	        | tar --null --ignore-failed-read -T - -cf -; \
	else \
	    tar --exclude=./build -cf - .; \
	fi | tar -x -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b \
	    >$(DEB_DIR)/build.log 2>&1 \
	    || { tail -40 $(DEB_DIR)/build.log; exit 1; }
	lintian --fail-on error --display-info $(DEB_CHANGES)
	@echo "built $(DEB_FILE)"

deb-test: deps
	$(MAKE) $(BUILD)/schema_driver deb
	rm -rf $(DEB_ROOT)
	dpkg-deb -x $(DEB_FILE) $(DEB_ROOT)
	SG_SIGN_MODULE=$(DEB_ROOT)/usr/lib/nginx/modules/ngx_http_sg_sign_module.so \
	SG_SIGN_PACKAGE=$(DEB_FILE) SG_SIGN_PACKAGE_ROOT=$(DEB_ROOT) \
	    prove $(DEB_TESTS)

# opt-in (installs a package on this machine; .ci/run runs it)
deb-install-test: deps
	$(MAKE) deb
	bash t/deb_install_test.sh $(DEB_FILE)

clean:
	rm -rf $(BUILD)

