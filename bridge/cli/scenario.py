"""``crossverify scenario new|check|format``: scenarios of your own (bridge/twins/builder.py).

    crossverify scenario new NAME --twin T --out DIR (--from DATA | --make moons|blobs|circles) [options]
    crossverify scenario check DIR        every scenario of a folder: unknown keys, then everything else
    crossverify scenario format           every shipped twin's manifest format, from its declaration

``new`` exits 0 when it wrote the manifest, 2 (writing nothing) for bad input or an existing
scenario without --force; ``check`` exits 0 when every scenario loads, 1 when one does not, 2
when the folder itself cannot be used.
"""
import json
import os
import shlex
import shutil
import tempfile

from crossverify.cli.options import EXIT_FAILED, EXIT_OK


def add_parser(sub):
    parser = sub.add_parser("scenario", help="make, check and describe scenarios of your own",
                            description="Scenario manifests (fixtures/README.md): build one from your data or a "
                                        "generator, check a folder of them, print each twin's format.")
    actions = parser.add_subparsers(dest="scenario_command", metavar="ACTION")
    actions.required = True

    new = actions.add_parser(
        "new", help="write DIR/NAME/manifest.json from data and a seed",
        description="Build a scenario for a twin: data from a file (one sample per row) or a scikit-learn "
                    "generator, initial weights drawn as the article does (np.random.seed, then one uniform draw "
                    "per weight), floats stored as hex. Validated against the twin before anything is written.")
    new.add_argument("name", metavar="NAME", help="the scenario's name (its folder under --out)")
    new.add_argument("--twin", required=True, metavar="T", help="a shipped twin's name or the folder of a twin.py")
    new.add_argument("--out", required=True, metavar="DIR", help="the scenarios folder to write NAME/ into")
    source = new.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", metavar="FILE",
                        help="FILE.csv (columns split into the twin's data matrices in order; the last one(s) "
                             "are the targets), FILE.npz (arrays named after them) or X.npy,y.npy; one sample "
                             "per row")
    source.add_argument("--make", metavar="KIND", help="a scikit-learn toy data set: moons, blobs or circles")
    new.add_argument("--param", action="append", metavar="K=V",
                     help="a parameter of the generator, e.g. n_samples=200 (repeatable; random_state defaults "
                          "to --seed)")
    new.add_argument("--seed", type=int, default=42, help="np.random.seed for the initial draws (default: 42)")
    new.add_argument("--draw", metavar="A,B,...",
                     help="order of the uniform draws (default: the order the twin declares its initial state)")
    new.add_argument("--discard", type=int, default=0, metavar="K",
                     help="uniform draws thrown away after seeding, before the weights (default: 0)")
    new.add_argument("--hidden", type=int, default=None, metavar="H",
                     help="the one size the data does not fix (a hidden layer's width)")
    new.add_argument("--size", action="append", metavar="NAME=K", help="a named size of the declaration, e.g. h=10")
    new.add_argument("--lr", type=float, default=None, help="learning rate, for twins with an lr (default: 0.1)")
    new.add_argument("--hyper", action="append", metavar="NAME=V", help="any other hyper-parameter of the twin")
    new.add_argument("--epochs", type=int, default=1000, help="number of epochs (default: 1000)")
    new.add_argument("--preprocessing", default="none", metavar="P",
                     help="a data preparation the twin declares (`crossverify scenario format` lists them); "
                          "default none")
    new.add_argument("--force", action="store_true", help="replace an existing DIR/NAME/manifest.json")
    new.set_defaults(handler=cmd_new)

    check = actions.add_parser(
        "check", help="validate every scenario of a folder and name unknown keys",
        description="Load every scenario under DIR as `crossverify run --fixtures DIR` would, reporting every "
                    "unknown key by name with the closest known one, then the first other problem.")
    check.add_argument("folder", metavar="DIR", help="a folder of scenarios (one sub-folder each)")
    check.add_argument("--twin", default=None, metavar="T", help="the twin every scenario must be of (optional)")
    check.add_argument("--format", choices=("table", "json"), default="table", help="output format (default: table)")
    check.set_defaults(handler=cmd_check)

    fmt = actions.add_parser(
        "format", help="print each shipped twin's manifest matrices and shapes, from its declaration",
        description="The per-twin tables of fixtures/README.md, derived from the twin declarations.")
    fmt.add_argument("--twin", action="append", metavar="T", help="only this twin (repeatable; default: all shipped)")
    fmt.set_defaults(handler=cmd_format)
    return parser


def _pairs(items, option):
    from crossverify.twins.builder import parse_params
    return parse_params(items, option)


def cmd_new(args, out):
    from crossverify.twins import builder
    from crossverify.twins.protocol import load_twin

    twin = load_twin(args.twin)
    path = builder.target(args.out, args.name, args.force)  # refused early, before any data is read
    hyper = _pairs(args.hyper, "--hyper")
    if "lr" in twin.hyper and "lr" not in hyper:
        hyper["lr"] = 0.1 if args.lr is None else args.lr
    elif args.lr is not None and "lr" not in twin.hyper:
        raise builder.BuildError(f"--lr: the twin {twin.name!r} has no learning rate 'lr' (its hyper-parameters: "
                                 f"{', '.join(twin.hyper)})", "give them with --hyper NAME=VALUE")
    if args.param and args.source:
        raise builder.BuildError("--param sets a generator's parameters and goes with --make, not --from",
                                 "drop --param")
    if args.source:
        source = builder.read_source(args.source, twin)
    else:
        source = builder.make_data(args.make, _pairs(args.param, "--param"), args.seed)
    draw = [d.strip() for d in args.draw.split(",")] if args.draw else None
    manifest = builder.build(twin, args.name, source, seed=args.seed, draw=draw, discard=args.discard,
                             sizes=_pairs(args.size, "--size"), hidden=args.hidden, hyper=hyper, epochs=args.epochs,
                             preprocessing=args.preprocessing, out_dir=args.out)
    scenario = builder.validate(manifest, twin)
    builder.write(path, manifest)
    shapes = ", ".join(f"{k} {v.shape[0]}x{v.shape[1]}" for k, v in {**scenario.data, **scenario.init}.items())
    out.write(f"wrote {path}: twin {twin.name}, {shapes}; seed {args.seed}, {args.epochs} epochs\n"
              f"run it with: crossverify run --fixtures {shlex.quote(str(args.out))}\n")
    _note_if_too_big(scenario, out)
    return EXIT_OK


def _note_if_too_big(scenario, out):
    """Say now, not at `run`, when a run of all the scenario's epochs will not fit in this machine's memory."""
    import warnings

    from crossverify.check import budget
    from crossverify.check.verify import KERNELS, MODES
    from crossverify.twins.runner import network_for
    net = network_for(scenario)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        estimate = budget.estimate_run(net, scenario.epochs, net.variants, KERNELS, MODES)
    available = budget.available_memory()
    if available is not None and estimate.bytes_needed > available:
        out.write(f"note: `crossverify run` on all of it needs {estimate.describe().split(': ', 1)[1]}, more than "
                  f"the {budget.human_bytes(available)} available here; it will refuse unless given --epochs "
                  f"{estimate.epochs_that_fit(available)} or fewer (or {budget.OVERRIDE}).\n")


def check_folder(folder, twin=None):
    """One entry per scenario of ``folder``: its name, twin and every problem found (none: it loads)."""
    from crossverify.errors import CrossverifyError, FixtureError
    from crossverify.twins.scenarios import _twin_of, list_scenarios, load_scenario, unknown_keys

    results = []
    for name in list_scenarios(folder):
        path = os.path.join(folder, name, "manifest.json")
        entry = {"scenario": name, "path": path, "twin": None, "problems": []}
        results.append(entry)
        try:
            entry["twin"] = load_scenario(name, folder, twin).twin.name
            continue
        except CrossverifyError as exc:
            first = exc
        manifest = _manifest(path)
        if not isinstance(manifest, dict):
            entry["problems"].append(_problem(first))
            continue
        resolved = None
        key = "twin" if "twin" in manifest else "network"
        try:
            resolved = _twin_of(manifest.get(key), path, key, twin) if key in manifest else None
            entry["twin"] = resolved.name if resolved else None
        except CrossverifyError:
            pass
        found = unknown_keys(manifest, resolved)
        entry["problems"] += [f"field '{u.field}': {u.problem}" for u in found]
        if not found:
            entry["problems"].append(_problem(first))
            continue
        # the rest of the manifest, as the loader sees it once the unknown keys are gone
        rest = _without(manifest, found)
        if resolved is not None:
            rest[key] = resolved.name
        tmp = tempfile.mkdtemp(prefix="crossverify-check-")
        try:
            os.makedirs(os.path.join(tmp, name))
            with open(os.path.join(tmp, name, "manifest.json"), "w", encoding="utf-8") as fh:
                json.dump(rest, fh)
            load_scenario(name, tmp, resolved)
        except FixtureError as exc:
            entry["problems"].append(f"field '{exc.field}': {exc.problem}")
        except CrossverifyError as exc:
            entry["problems"].append(str(exc))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def _manifest(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def _problem(exc):
    from crossverify.errors import FixtureError
    return f"field '{exc.field}': {exc.problem}" if isinstance(exc, FixtureError) else str(exc)


def _without(manifest, found):
    """A copy of ``manifest`` with each unknown key renamed to its closest known one (when that one
    is absent), else dropped: the loader then finds the problems the misspellings hid."""
    import difflib
    rest = json.loads(json.dumps(manifest))
    for u in found:
        node = rest
        for part in [p for p in u.where.split(".") if p]:
            node = node[part]
        value = node.pop(u.key, None)
        close = difflib.get_close_matches(u.key, u.known, n=1, cutoff=0.6)
        if close and close[0] not in node:
            node[close[0]] = value
    return rest


def cmd_check(args, out):
    from crossverify.twins.protocol import load_twin

    twin = load_twin(args.twin) if args.twin else None
    results = check_folder(args.folder, twin)
    ok = all(not r["problems"] for r in results)
    if args.format == "json":
        json.dump({"folder": args.folder, "ok": ok, "scenarios": results}, out, indent=2)
        out.write("\n")
    else:
        for r in results:
            if not r["problems"]:
                out.write(f"ok      {r['scenario']} (twin {r['twin']})\n")
                continue
            out.write(f"FAILED  {r['scenario']}: {r['path']}\n")
            for p in r["problems"]:
                out.write(f"        {p}\n")
        bad = sum(bool(r["problems"]) for r in results)
        out.write(f"\n{len(results) - bad} of {len(results)} scenarios load.")
        out.write(" To fix the others: correct the fields named, or rebuild them with `crossverify scenario new "
                  "... --force` (fixtures/README.md).\n" if bad else "\n")
    return EXIT_OK if ok else EXIT_FAILED


def cmd_format(args, out):
    from crossverify.twins.builder import format_tables
    from crossverify.twins.protocol import load_twin, shipped_twins

    names = args.twin or list(shipped_twins())
    out.write(format_tables([load_twin(n) for n in names]))
    return EXIT_OK
