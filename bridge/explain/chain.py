"""An Explanation (bridge/explain/causes.py) as a readable chain on the terminal, or as JSON: the
origin of the divergence, its cause, how it propagates (through the epoch, then across epochs),
and its consequence for the numbers the source prints."""
import textwrap

from crossverify.explain import causes as C
from crossverify.explain.reproduce import CHAOTIC, REPRODUCED

WIDTH = 100


def _wrap(text, indent="  ", later=None):
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=later or indent + "  ",
                         break_long_words=False, break_on_hyphens=False)


def _fmt(index):
    return C._fmt(index)


DISPLAY = {"python": "Python", "model-of-R": "the model of R", "r": "R"}


def display(label):
    """A side's label as a sentence names it ("python" -> "Python")."""
    return DISPLAY.get(label, label)


def _kind_sentence(acc):
    lab = display(acc.labels[0])
    if acc.kind == "local":
        inputs = ", ".join(acc.inputs_checked) or "none"
        return (f"local: every input agrees to the bit ({inputs}), yet {lab}'s formula on R's inputs does not give "
                f"R's bits ({acc.elements} of {acc.size} elements differ)")
    if acc.kind == "inherited":
        return (f"inherited: {lab}'s formula on R's own inputs gives R's bits at every element; the difference "
                f"comes from its inputs: " + "; ".join(i.describe() for i in acc.inputs))
    if acc.kind == "both":
        return ("inherited and local: its inputs differ (" + "; ".join(i.describe() for i in acc.inputs)
                + f"), and on R's inputs {lab}'s formula still misses R's bits at {acc.local_elements} of "
                  f"{acc.size} elements")
    return acc.kind


def account_lines(acc, label, indent="  "):
    if isinstance(acc, C.StartAccount):
        return [_wrap(f"{label}: the starting state ({', '.join(acc.names)})", indent),
                _wrap(f"{acc.cause.verdict}: {acc.cause.summary}", indent + "  ")]
    if isinstance(acc, C.Carried):
        since = "" if acc.since is None else f"; it first differs after epoch {acc.since}"
        return [_wrap(f"{label}: the state epoch {acc.epoch} starts from ({', '.join(acc.names)}) differs, by up "
                      f"to {acc.max_abs:.3g} ({C._ulps_text(acc.max_ulps)}): carried from epoch {acc.epoch - 1}{since}",
                      indent)]
    head = f"{label}: {acc.where()}" + (f"  ({acc.formula})" if acc.formula else "")
    pair = C._pair(acc.left, acc.right, acc.labels)
    if acc.shapes is not None:
        (a, b) = ("x".join(map(str, s)) for s in acc.shapes)
        pair = f"{display(acc.labels[0])} gives a {a} matrix and {display(acc.labels[1])} a {b} one"
    lines = [_wrap(head, indent),
             _wrap(pair, indent + "  "),
             _wrap(_kind_sentence(acc), indent + "  ")]
    if acc.cause is not None:
        lines += cause_lines(acc.cause, indent + "  ")
    return lines


def cause_lines(cause, indent="  "):
    lines = [_wrap(f"cause ({cause.verdict}): {cause.summary}", indent)]
    for o in cause.operations:
        lines.append(_wrap(f"- {o.text}", indent + "  ", indent + "    "))
    if cause.matrix_operations and {o.path for o in cause.matrix_operations} != {o.path for o in cause.operations}:
        for o in cause.matrix_operations:
            lines.append(_wrap(f"- (every element) {o.text}", indent + "  ", indent + "    "))
    if cause.lines:
        for side in ("python", "r"):
            for line in cause.lines.get(side, []):
                lines.append(_wrap(f"{'Python' if side == 'python' else 'R'}: {line}", indent + "  ", indent + "    "))
    return lines


def _short(acc, epoch=False):
    if isinstance(acc, (C.StartAccount, C.Carried)):
        return account_lines(acc, "start" if isinstance(acc, C.StartAccount) else "carried", "    ")
    what = acc.kind
    if acc.cause is not None:
        ops = " and ".join(o.op for o in acc.cause.operations)
        what += f"; {acc.cause.verdict}" + (f" ({ops})" if ops else "")
    inherited = [i.token for i in acc.inputs]
    if inherited:
        what += f"; inputs differing: {', '.join(inherited)}"
    when = f"epoch {acc.epoch}, " if epoch else ""
    size = (f"{acc.elements} of {acc.size} elements differ, up to {C._ulps_text(acc.max_ulps)} ({acc.max_abs:.3g})"
            if acc.shapes is None else "the two sides' shapes differ (" +
            " against ".join("x".join(map(str, s)) for s in acc.shapes) + ")")
    return [_wrap(f"{when}step {acc.step} {acc.name}: {size}: {what}", "    ", "      ")]


def growth_lines(g):
    lab = f"{g.labels[0]} and {g.labels[1]}"
    if g.identical:
        return [_wrap(f"across epochs: the carried state ({', '.join(g.state)}) of {lab} is bit-identical after "
                      f"every epoch: nothing grows", "  ")]
    out = [_wrap(f"across epochs (the carried state: {', '.join(g.state)}): d(e), its largest relative difference, is "
                 f"{g.relative[0]:.3g} after epoch {g.first_epoch}" +
                 ("" if g.floor is None else f"; its floor (median over the first tenth of the run) is {g.floor:.3g}"),
                 "  ")]
    if g.rate:
        halves = ""
        if g.rate_halves and all(h is not None for h in g.rate_halves):
            a, b = g.rate_halves
            trend = "accelerates" if b > 1.5 * a else "slows" if a > 1.5 * b else "holds steady"
            halves = f"; {a:.3g} over the window's first half, {b:.3g} over its second: the growth {trend}"
        out.append(_wrap(f"growth: from epoch {g.window[0]} (the last epoch within 10x the floor) it grows at "
                         f"lambda = {g.rate:.3g} per epoch (least-squares slope of ln d over epochs {g.window[0]}-"
                         f"{g.window[1]}; doubling every {g.doubling:.3g} epochs){halves}", "  "))
    else:
        out.append(_wrap("growth: no sustained growth to fit (d ends within 100x its floor)", "  "))
    if g.measured_horizon is not None:
        pred = "" if g.predicted_horizon is None else (
            f"; the fitted line reaches 2^-26 at epoch {g.predicted_horizon:.0f} "
            f"({g.predicted_horizon / g.measured_horizon:.3g} times the measured epoch)")
        out.append(_wrap(f"horizon: d first exceeds 2^-26 (half the digits) after epoch {g.measured_horizon}{pred}",
                         "  "))
    else:
        out.append(_wrap("horizon: d stays below 2^-26 (half the digits) for the whole run", "  "))
    return out


def consequence_lines(ex):
    g = ex.growth
    if g is None:
        if ex.mode == "lockstep":
            return [_wrap("lockstep: every epoch starts from R's state, so nothing is carried from one epoch to the "
                          "next; each epoch's differences are those of its own rounding.", "  ")]
        return []
    out = []
    if g.precision:
        if g.precision_epoch is not None:
            fitted = ""
            if g.precision_epoch_fitted is not None:
                ratio = g.precision_epoch / g.precision_epoch_fitted
                fitted = (f"; the fitted line alone would put it at epoch {g.precision_epoch_fitted:.0f}"
                          + ("; past the horizon the difference grew more slowly than the fit" if ratio > 1.1 else
                             "; past the horizon it grew faster than the fit" if ratio < 0.9 else ""))
            out.append(_wrap(f"d reaches 1e-{g.decimals} (the {g.decimals} decimals the source prints) after epoch "
                             f"{g.precision_epoch}{fitted}. Numbers printed from that epoch on depend on rounding: "
                             f"another machine's order of additions gives other digits.", "  "))
        else:
            out.append(_wrap(f"d stays below 1e-{g.decimals} (the {g.decimals} decimals the source prints) for the "
                             f"whole run: every printed number should be reproducible.", "  "))
    if g.printed:
        rows = [("epoch", "quantity", "source", g.labels[0], g.labels[1], "|difference|", "ULPs", "predicted",
                 "declared")]
        for p in g.printed:
            rows.append((str(p.epoch), p.quantity, p.source, p.python, p.r, f"{p.difference:.3g}", str(p.ulps),
                         p.predicted, p.expected))
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
        out.append("  the numbers the source prints, beside both languages:")
        for r in rows:
            out.append("    " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
        judged = [p for p in g.printed if p.expected in (REPRODUCED, CHAOTIC)]
        wrong = [p for p in judged if (p.predicted == "depends on rounding") != (p.expected == CHAOTIC)]
        if not judged:
            out.append(_wrap("their declared statuses are judged otherwise than by rounding (the twin's judge)", "  "))
            return out
        out.append(_wrap(f"the prediction matches the declared status ({REPRODUCED} or {CHAOTIC}) of all "
                         f"{len(judged)} of them" if not wrong else
                         "the prediction differs from the declared status for: "
                         + ", ".join(p.quantity for p in wrong), "  "))
    return out


def _rounding_origin(ex):
    cause = getattr(ex.origin_account, "cause", None)
    return cause is not None and cause.verdict == C.ROUNDING


def _unrecomputable_origin(ex):
    """The origin's operation cannot be recomputed: neither rounding nor another formula is proven there."""
    cause = getattr(ex.origin_account, "cause", None)
    return cause is not None and cause.verdict == C.UNTRANSPLANTABLE


def _formula_origin(ex):
    return not _rounding_origin(ex) and not _unrecomputable_origin(ex)


# a formula difference this many times the step's float bound is called "far more than rounding"
FAR = 100.0


def formula_consequence(ex):
    """What a formula difference means for the printed numbers, in words scaled to its size against
    the step's float bound (a difference inside the bound is never "far more than rounding")."""
    left, right = display(ex.labels[0]), display(ex.labels[1])
    cause = getattr(ex.origin_account, "cause", None)
    slip = " (the translation slip above)" if cause is not None and cause.verdict == C.SLIP else ""
    multiple = getattr(cause, "multiple", None)
    if multiple is None:
        size = "by as much as the formulas differ (no float bound to measure it against)"
    elif multiple <= 1:
        size = (f"though at its origin the difference is only {multiple:.3g} of the step's float bound: as small as "
                f"rounding, yet no switch of rounding reproduces it")
    elif multiple < FAR:
        size = f"by more than rounding ({multiple:.3g} times the step's float bound at its origin)"
    else:
        size = f"by far more than rounding ({multiple:.3g} times the step's float bound at its origin)"
    return f"{right} computes another formula than {left}{slip}: every number both print can differ, {size}"


def _failing_row_consequence(ex):
    """For a row that fails while its origin is rounding: where it fails, and the command that explains it."""
    row = ex.row
    if row is None or row.meets is not False or row.beyond is None or not _rounding_origin(ex):
        return None
    b = row.beyond
    return (f"the rounding at the origin is harmless, yet this row fails: at epoch {b.epoch}, step {b.step}, {b.name} "
            f"the difference exceeds what rounding explains. `crossverify explain` with --kernels exact (or with no "
            f"--kernels) starts the account there.")


def render_text(ex):
    left, right = display(ex.labels[0]), display(ex.labels[1])
    out = [f"crossverify explain: {ex.scenario} (twin {ex.twin}), R variant {ex.variant}"
           f"{' (the reference)' if ex.reference else ''}, {ex.kernels} kernels, {ex.mode}, {ex.epochs} epochs",
           f"{left} against {right}" + (f"; R's %*%: {ex.platform}" if ex.platform else "")]
    if ex.row is not None:
        out.append(_wrap(ex.row.sentence()[0].upper() + ex.row.sentence()[1:] + ".", ""))
    out.append("")
    if ex.first is None and not ex.origin:
        out.append(f"No divergence: {left} and {right} agree to the bit at every recorded step and after every "
                   f"epoch.")
        return "\n".join(out) + "\n"
    out.append("1. ORIGIN (the first difference that arises rather than being inherited)")
    for k, acc in enumerate(ex.origin):
        out += account_lines(acc, "origin" if k == 0 else "then")
    if ex.first is not None and ex.origin and ex.origin[-1] is not ex.first:
        out += account_lines(ex.first, "first bit difference")
    out.append("")
    out.append("2. CAUSE")
    origin = ex.origin_account
    cause = getattr(origin, "cause", None)
    if cause is None:
        out.append(_wrap("none named: " + getattr(origin, "kind", "no account"), "  "))
    else:
        out.append(_wrap(f"{cause.verdict}: {cause.summary}", "  "))
        if cause.verdict == C.ROUNDING:
            out.append(_wrap("(checked: the named switch, replayed on R's inputs, gives R's bits)", "  "))
    out.append("")
    out.append("3. PROPAGATION")
    if ex.spread:
        out.append(f"  within epoch {ex.spread[0].epoch} (each differing step recomputed from R's inputs):")
        for acc in ex.spread:
            out += _short(acc)
    if ex.growth is not None and _unrecomputable_origin(ex):
        out.append(_wrap("across epochs (the origin's cause is not proven, since its operation cannot be recomputed; "
                         "the growth is measured all the same):", "  "))
        out += growth_lines(ex.growth)
    elif ex.growth is not None and _rounding_origin(ex):
        out += growth_lines(ex.growth)
    elif ex.growth is not None:
        out.append(_wrap("across epochs: the two sides compute different formulas from the origin on, so the "
                         "difference is not rounding that grows; no growth rate is fitted", "  "))
    for chain in ex.asked:
        target = chain[-1]
        out.append(f"  at {target.where()}, followed back to its origin:")
        for acc in chain:
            out += _short(acc, epoch=True)
    out.append("")
    out.append("4. CONSEQUENCE")
    if ex.growth is not None and _formula_origin(ex):
        out.append(_wrap(formula_consequence(ex), "  "))
    else:
        out += consequence_lines(ex) or [_wrap(_failing_row_consequence(ex) or "none beyond the difference itself",
                                               "  ")]
    return "\n".join(out) + "\n"


def to_json(ex):
    def item(a):
        return a.to_dict() if a is not None else None

    origin = ex.origin_account
    return {
        "comparison": {"twin": ex.twin, "scenario": ex.scenario, "variant": ex.variant, "reference": ex.reference,
                       "kernels": ex.kernels, "mode": ex.mode, "against": ex.against, "epochs": ex.epochs,
                       "labels": list(ex.labels)},
        "platform": ex.platform,
        "diverges": ex.first is not None or bool(ex.origin),
        "first": item(ex.first),
        "origin": [item(a) for a in ex.origin],
        "cause": None if getattr(origin, "cause", None) is None else origin.cause.to_dict(),
        "spread": [item(a) for a in ex.spread],
        "asked": [[item(a) for a in chain] for chain in ex.asked],
        "horizon": ex.horizon,
        "row": None if ex.row is None else {"kernels": ex.row.kernels, "mode": ex.row.mode, "meets": ex.row.meets,
                                            "expectation": ex.row.expectation, "chosen": ex.row.chosen,
                                            "sentence": ex.row.sentence()},
        "growth": None if ex.growth is None else ex.growth.to_dict(),
    }
