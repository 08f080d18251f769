"""``crossverify doctor``: everything the exactness of a run depends on here, with a verdict each.

Exact kernels are bit-identical with R only if this machine's R computes what they reproduce:
R's %*% on the reference BLAS or under R's own long-double loop (bridge/session/platform.py),
colSums/rowSums/mean in a long double as wide as numpy's, and R's exp from the same libm as
Python's. Each item says what is here and whether it supports exact checks; the facts about R are
measured in R itself, in this process. Exit 0 when every item supports exact checks, 1 when one
does not, 3 when R cannot be started.
"""
import json
import os
import sys
from dataclasses import asdict, dataclass

import numpy as np

from crossverify.cli.options import EXIT_FAILED, EXIT_OK
from crossverify.errors import RUnavailableError


@dataclass
class Item:
    name: str
    value: str  # what is here
    verdict: str  # what it means for exact checks
    ok: bool  # supports exact checks


def add_parser(sub):
    parser = sub.add_parser("doctor", help="what exact checks depend on here (R, its BLAS, rpy2, numpy, libm), "
                                           "with a verdict each",
                            description="List R, R's BLAS and the path of its %*%, rpy2, numpy (its BLAS and "
                                        "SIMD), libm and long double, each with a verdict: does it support "
                                        "bit-identical exact checks? Exit 0 only when every item does.")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    parser.set_defaults(handler=run)


# -- items that need no R ------------------------------------------------------------------------
def python_items():
    import platform as py_platform

    from crossverify.python_impl import kernels

    items = [Item("Python", f"{py_platform.python_version()} ({sys.executable})", "not part of the arithmetic", True)]
    config = _numpy_config()
    blas = config.get("Build Dependencies", {}).get("blas", {})
    blas_text = blas.get("openblas configuration") or f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    items.append(Item("numpy", f"{np.__version__}; BLAS {blas_text}; SIMD {_simd_text(config)}",
                      "used by the float kernels only: the exact kernels never call numpy's BLAS or its SIMD exp",
                      True))
    in_order = kernels.REDUCE_ADDS_ROWS_IN_ORDER and kernels.LONGDOUBLE_REDUCE_ADDS_ROWS_IN_ORDER
    items.append(Item("numpy sums", "adds rows in order along an outer axis" if in_order else
                      "sums an outer axis in another order", "exact" if in_order else
                      "exact through the slower sequential fallback (add.accumulate)", True))
    finfo = np.finfo(np.longdouble)
    width = f"{finfo.nmant + 1}-bit significand ({np.dtype(np.longdouble).itemsize} bytes)"
    items.append(Item("numpy long double", width, "compared with R's below", True))
    libc = os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") and "CS_GNU_LIBC_VERSION" in os.confstr_names \
        else "unknown C library"
    numexpr_text = "numexpr's exp gives libm's bits" if kernels.LIBM_EXP_VIA_NUMEXPR else \
        "numexpr's exp differs from libm's: the exact kernels call math.exp per element (slower, still exact)"
    items.append(Item("libm", f"{libc}; {numexpr_text}", "R's exp is compared below", True))
    return items


def _numpy_config():
    try:
        return np.show_config(mode="dicts") or {}
    except TypeError:  # numpy < 1.26 only prints
        return {}


def _simd_text(config):
    simd = config.get("SIMD Extensions", {})
    if not simd:
        return "unknown"
    return f"baseline {' '.join(simd.get('baseline', []))}, found {' '.join(simd.get('found', [])) or 'none'}"


# -- items that need R ---------------------------------------------------------------------------
def version_items():
    from crossverify.session.rsession import PIP, find_r_home, installed_r_version, installed_rpy2_version
    from crossverify.session.versions import rpy2_requirement, series_fits

    r_version, rpy2_version = installed_r_version(), installed_rpy2_version()
    try:
        home = find_r_home()
        r_item = Item("R", f"{r_version or '?'} ({home})", "found", True)
    except RUnavailableError as exc:
        r_item = Item("R", "not usable", str(exc), False)
    wanted = rpy2_requirement(r_version)
    fits = series_fits(rpy2_version, r_version)
    rpy2_item = Item("rpy2", f"{rpy2_version or 'not installed'} (R {r_version or '?'} needs {wanted})",
                     "fits this R" if fits and rpy2_version else f"install {wanted}: `{PIP} install '{wanted}'`",
                     bool(fits and rpy2_version))
    return [r_item, rpy2_item]


def r_items(session):
    from crossverify.session import platform as rp

    p, plan = session.platform, session.matprod
    items = []
    detail = f"; {p.blas_detail}" if p.blas_detail else ""
    probe = (f"sums like the reference BLAS on {p.probe_elements} probe elements" if p.blas_sums_like_reference
             else "sums unlike the reference BLAS on the probe products")
    if p.is_reference_blas:
        verdict = "exact: the exact kernels add the products in its order"
    elif plan.exact and plan.kernel_path.startswith("r-blas"):
        verdict = "exact: the exact kernels call its own dgemm/dgemv/dsyrk with R's arguments"
    elif plan.exact:
        verdict = f"exact: R's %*% is run under matprod \"{plan.option}\", which does not call it"
    else:
        verdict = f"not exact: {plan.reason}"
    items.append(Item("R's BLAS", f"{p.blas_name}, {p.blas_path}{detail}; {probe}", verdict, plan.exact))
    others = [lib for lib in p.blas_libraries if lib not in (p.blas_path, os.path.realpath(p.blas_path))]
    if others:
        items.append(Item("other BLAS in this process", "; ".join(others),
                          "not R's (numpy's own, or a dependency of R's BLAS)", True))
    requested = f"${rp.MATPROD_ENV}={plan.requested}" if plan.requested != "auto" else "auto"
    items.append(Item("R's %*% path", f"matprod \"{plan.option}\" ({requested}; R started with "
                      f"\"{p.matprod_at_start}\"): {plan.description}",
                      "reproduced bit for bit" if plan.exact else f"not reproduced: {plan.reason}", plan.exact))
    if plan.kernel_path == "internal":
        same = rp.internal_loop_reproduced(session)
        items.append(Item("R's internal loop", "R's products under matprod \"internal\" against python_impl's "
                          "internal_matprod", "same bits" if same else "different bits", same))
    ld_ok = p.numpy_longdouble_matches()
    items.append(Item("R's long double", f"{rp.long_double_text(p)}; capabilities('long.double') {p.long_double}",
                      "the same as numpy's: colSums/rowSums/mean and the internal loop are reproduced" if ld_ok else
                      "not numpy's: R's long-double sums cannot be reproduced", ld_ok))
    sums = rp.sums_reproduced(session)
    items.append(Item("R's sums", "colSums, rowSums, mean against the exact kernels",
                      "same bits" if sums else "different bits", sums))
    r_exp, _ = rp.exp_is_libm(session)
    items.append(Item("R's exp", "R's exp against Python's math.exp (the C library's)",
                      "same bits" if r_exp else "different bits: R does not use this process's libm exp", r_exp))
    items.append(Item("R's LAPACK", p.lapack_path or "unknown", "not used by the networks", True))
    return items


def collect():
    """(items, exit code, session): every item, EXIT_OK / EXIT_FAILED / 3 when R cannot be started,
    and the R session (None when it could not start)."""
    from crossverify.session.rsession import get_session

    items = version_items() + python_items()
    try:
        session = get_session()
    except RUnavailableError as exc:
        items.append(Item("R session", "could not start", str(exc), False))
        return items, RUnavailableError.exit_code, None
    items.insert(1, Item("R session", f"R {session.r_version} embedded through rpy2 {session.rpy2_version}",
                         "started", True))
    items.extend(r_items(session))
    return items, EXIT_OK if all(i.ok for i in items) else EXIT_FAILED, session


def run(args, out):
    items, code, session = collect()
    if args.format == "json":
        json.dump({"items": [asdict(i) for i in items], "ok": code == EXIT_OK,
                   "r_platform": session.platform.to_dict() if session else None,
                   "r_matprod": session.matprod.to_dict() if session else None}, out, indent=2)
        out.write("\n")
        return code
    width = max(len(i.name) for i in items)
    for i in items:
        out.write(f"{'ok' if i.ok else 'NO':2}  {i.name:<{width}}  {i.value}\n{'':{width + 6}}-> {i.verdict}\n")
    bad = [i.name for i in items if not i.ok]
    out.write("\nExact checks are supported here.\n" if not bad else
              f"\nExact checks are not bit-identical here: {', '.join(bad)} (see above).\n")
    return code
