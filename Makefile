# Convenience targets; the README's quick start uses the scripts in .ci/ directly.
.PHONY: demo test build bench clean install uninstall

PREFIX ?= /usr/local
DESTDIR ?=
# release builds a binary that carries the Swift runtime (no toolchain needed where it is installed).
CONFIG ?= release
SWIFT_FLAGS ?= $(if $(filter release,$(CONFIG)),--static-swift-stdlib,)
# BINDIR: where the built kassa is (asked from SwiftPM unless given); NOBUILD=1 installs what is built already.
BINDIR ?= $(shell swift build -c $(CONFIG) --show-bin-path)
NOBUILD ?=

demo:
	bash .ci/demo

test:
	bash .ci/test

build:
	swift build

bench:
	bash Benchmarks/run

# Installs the binary, its data (printer profiles, fonts, the service's files), the udev rules, the systemd unit
# and the sysusers file that makes the kassa user. The installed binary finds its data with no environment variable.
install:
	$(if $(NOBUILD),test -x $(BINDIR)/kassa,swift build -c $(CONFIG) $(SWIFT_FLAGS) --product kassa)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/kassa/service $(DESTDIR)$(PREFIX)/share/doc/kassa \
	  $(DESTDIR)$(PREFIX)/lib/udev/rules.d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/lib/sysusers.d
	install -m 0755 $(BINDIR)/kassa $(DESTDIR)$(PREFIX)/bin/kassa
	rm -rf $(DESTDIR)$(PREFIX)/share/kassa/Hardware
	cp -R Hardware $(DESTDIR)$(PREFIX)/share/kassa/Hardware
	chmod -R u=rwX,go=rX $(DESTDIR)$(PREFIX)/share/kassa/Hardware
	install -m 0644 Sources/KassaService/openapi.yaml Sources/KassaService/status.html Sources/KassaService/document.schema.json $(DESTDIR)$(PREFIX)/share/kassa/service/
	install -d $(DESTDIR)$(PREFIX)/share/kassa/udev
	install -m 0644 udev/60-kassa.rules $(DESTDIR)$(PREFIX)/share/kassa/udev/60-kassa.rules
	install -m 0644 udev/60-kassa.rules $(DESTDIR)$(PREFIX)/lib/udev/rules.d/60-kassa.rules
	sed 's|@PREFIX@|$(PREFIX)|g' tools/systemd/kassa.service.in > $(DESTDIR)$(PREFIX)/lib/systemd/system/kassa.service
	chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/kassa.service
	install -m 0644 tools/systemd/kassa.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/kassa.conf
	install -m 0644 README.md Docs/CLI.md Docs/openapi.yaml $(DESTDIR)$(PREFIX)/share/doc/kassa/
	@echo "Installed under $(DESTDIR)$(PREFIX). On the till: sudo systemd-sysusers; sudo udevadm control --reload;"
	@echo "sudo systemctl daemon-reload; sudo systemctl enable --now kassa; then kassa doctor."

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/kassa $(DESTDIR)$(PREFIX)/lib/udev/rules.d/60-kassa.rules \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system/kassa.service $(DESTDIR)$(PREFIX)/lib/sysusers.d/kassa.conf
	rm -rf $(DESTDIR)$(PREFIX)/share/kassa $(DESTDIR)$(PREFIX)/share/doc/kassa

clean:
	rm -rf .build
