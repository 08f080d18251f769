# `make run` and `make test` do all the set-up they need (tools/setup.sh), then their job.
.PHONY: setup run test test-long test-r docs-r fixtures bench clean

VENV := .venv

setup:
	@bash tools/setup.sh

run: setup
	$(VENV)/bin/crossverify run

test: setup
	$(VENV)/bin/python -m pytest -m "not long"

# the long checks (every mutant, full audits, big sweeps); each has a fast representative in `make test`
test-long: setup
	$(VENV)/bin/python -m pytest -m long

# the R package's own testthat suite alone (pytest runs it too)
test-r: setup
	R_LIBS=$(VENV)/R-library Rscript -e 'testthat::test_dir("r_impl/tests/testthat", package = "crossverify", load_package = "installed", stop_on_failure = TRUE)'

# what a check costs against training natively, every row of issue 20's table as a ratio with its
# target (bench/README.md); not part of `make test`. The kernels' bit-for-bit check runs first: a
# mismatch stops make; the table's exit status (1: a target missed) is make's.
bench: setup
	$(VENV)/bin/python bench/kernels.py
	$(VENV)/bin/python bench/table.py

fixtures: setup
	$(VENV)/bin/python fixtures/generate.py

clean:
	rm -rf $(VENV) .pytest_cache

# regenerate r_impl/man from the #' comments (needs the R package roxygen2: apt-get install r-cran-roxygen2)
docs-r:
	cd r_impl && Rscript -e 'roxygen2::roxygenise(roclets = "rd")'
