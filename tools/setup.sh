#!/usr/bin/env bash
# Set-up for `make run` and `make test`: R from the distribution's packages, then .venv with
# this project and its test extras (the rpy2 series that fits this R), then the R package into a
# library inside .venv, then OpenBLAS unpacked into .venv/blas/openblas for the tests that run R
# on it (not installed: nothing outside .venv changes).
# Idempotent: when everything is in place it only checks, in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."

R_DEBS="r-base-core r-base-dev r-cran-jsonlite r-cran-testthat"
PY_DEBS="python3-dev"  # Python.h: pip compiles rpy2 3.5 from its source
VENV=.venv
RLIB=$VENV/R-library
BLAS_DIR=$VENV/blas

r_ready() {
  command -v Rscript >/dev/null 2>&1 || return 1
  [ -f "$(R RHOME 2>/dev/null)/include/R.h" ] || [ -f /usr/share/R/include/R.h ] || return 1
  Rscript -e 'quit(status = !all(vapply(c("jsonlite", "testthat"), requireNamespace, NA, quietly = TRUE)))' \
    >/dev/null 2>&1
}

py_headers_ready() {
  python3 -c 'import os, sys, sysconfig; sys.exit(not os.path.isfile(os.path.join(sysconfig.get_path("include"), "Python.h")))' 2>/dev/null
}

if ! r_ready || ! py_headers_ready; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing from the distribution: $R_DEBS $PY_DEBS"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $R_DEBS $PY_DEBS >/dev/null
  else
    echo "setup: R with the jsonlite and testthat packages, and Python's headers, are needed and could not be installed here." >&2
    echo "setup: run   sudo apt-get update && sudo apt-get install -y $R_DEBS $PY_DEBS   then   make setup" >&2
    exit 1
  fi
  r_ready || { echo "setup: R was installed but R.h, jsonlite or testthat is still missing" >&2; exit 1; }
  py_headers_ready || { echo "setup: python3-dev was installed but Python.h is still missing" >&2; exit 1; }
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get install -y -qq --no-install-recommends python3-venv >/dev/null && python3 -m venv "$VENV"
    else
      echo "setup: python3 cannot create a virtual environment; run   sudo apt-get install -y python3-venv" >&2
      exit 1
    fi
  fi
fi

# rpy2 3.5 for R < 4.5, rpy2 3.6 for R >= 4.5: one rule, in bridge/session/versions.py
R_LINE=$(R --version | head -n 1)
RPY2_REQ=$(python3 bridge/session/versions.py "$R_LINE")
echo "$RPY2_REQ" >"$VENV/rpy2-constraint.txt"
rpy2_installed() {
  "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("rpy2"))' 2>/dev/null || true
}

if [ ! -f "$VENV/.installed" ] || [ pyproject.toml -nt "$VENV/.installed" ] || [ setup.py -nt "$VENV/.installed" ] \
   || [ python_impl/_exact.c -nt "$VENV/.installed" ]; then  # setup.py compiles python_impl/_exact.c
  echo "setup: installing the project and its test extras into $VENV, with $RPY2_REQ for ${R_LINE% (*} (rpy2 is built against this R)"
  "$VENV/bin/python" -m pip install -q --upgrade pip
  "$VENV/bin/python" -m pip install -q -e '.[test]' -c "$VENV/rpy2-constraint.txt"
  touch "$VENV/.installed"
fi
if ! python3 bridge/session/versions.py --fits "$(rpy2_installed)" "$R_LINE"; then
  echo "setup: rpy2 $(rpy2_installed) does not fit ${R_LINE% (*}: installing $RPY2_REQ"
  "$VENV/bin/python" -m pip install -q "$RPY2_REQ"
fi
echo "setup: ${R_LINE% (*}, rpy2 $(rpy2_installed) (this R takes $RPY2_REQ)"

if [ ! -f "$RLIB/.installed" ] || [ -n "$(find r_impl -newer "$RLIB/.installed" -type f | head -n 1)" ]; then
  echo "setup: installing the R package r_impl into $RLIB"
  mkdir -p "$RLIB"
  R CMD INSTALL --no-multiarch --library="$RLIB" r_impl >"$VENV/r-install.log" 2>&1 \
    || { cat "$VENV/r-install.log" >&2; exit 1; }
  touch "$RLIB/.installed"
fi

# OpenBLAS, unpacked (not installed), for tests/test_blas.py: R loads it per process through LD_LIBRARY_PATH
bash tools/fetch_blas.sh "$BLAS_DIR/openblas" libopenblas0-pthread
# BLIS and ATLAS too: tests/test_blas.py proves the exact kernels call each one as R does
bash tools/fetch_blas.sh "$BLAS_DIR/blis" libblis4-pthread
bash tools/fetch_blas.sh "$BLAS_DIR/atlas" libatlas3-base
