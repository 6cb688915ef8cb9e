# The two commands a new machine needs (see README): `make demo` and `make test`.
.PHONY: setup demo test

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/nightdesk demo

test: setup
	.venv/bin/pytest
