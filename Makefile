# Convenience targets; the README's quick start uses the scripts in .ci/ directly.
.PHONY: demo test build bench clean

demo:
	bash .ci/demo

test:
	bash .ci/test

build:
	swift build

bench:
	bash Benchmarks/run

clean:
	rm -rf .build
