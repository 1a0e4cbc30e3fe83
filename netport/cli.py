"""The ``netport`` command line: argument parsing only; the work lives in the library."""

from __future__ import annotations

import argparse
import os
import sys

from netport import __version__
from netport.migrate.options import DEFAULT_TRAINER

EXIT_OK, EXIT_USAGE = 0, 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a program ended by SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="netport",
        description="Bring legacy Chainer v1 programs back to life: migrate them to modern Chainer "
        "or PyTorch, check their layer shapes, or train a stacked autoencoder instead.",
    )
    parser.add_argument("--version", action="version", version=f"netport {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    migrate = commands.add_parser(
        "migrate",
        help="rewrite Chainer v1 source into Chainer 5+ idiom or PyTorch",
        description="Rewrite Chainer v1 programs (files or directory trees) into Chainer 5+ idiom, "
        "keeping comments and formatting. By default prints a unified diff and writes nothing. "
        "Report lines are `path:line:col: SEVERITY CHxxx message`. Exit status: 0 everything "
        "converted, 1 manual work remains (marked `# netport: TODO(CHxxx)` in the code), 2 bad "
        "input or usage.",
    )
    migrate.add_argument("paths", nargs="*", metavar="PATH", help="Python files or directories")
    migrate.add_argument("--to", default="chainer", choices=["chainer", "torch"],
                         help="target: chainer (Chainer 5-7, the default) or torch (what the torch rules do not "
                         "cover, such as a Trainer with custom extensions, is marked TODO)")
    migrate.add_argument("--init", choices=["chainer", "torch"], default="chainer",
                         help="with --to torch: keep Chainer's weight initialisation (LeCun normal, zero bias; the "
                         "default) or take torch's own")
    migrate.add_argument("--adam-eps", choices=["torch", "chainer"], default="torch",
                         help="with --to torch: torch.optim.Adam as is (the default; torch adds eps after the bias "
                         "correction, Chainer before it) or a ChainerAdam subclass written into the file that "
                         "reproduces Chainer's Adam update exactly")
    migrate.add_argument("--trainer", choices=["loop", "ppe"],
                         help="with --to torch: a Chainer Trainer becomes a pytorch-pfn-extras ExtensionsManager "
                         "(the default; needs pytorch-pfn-extras>=0.8; keeps the extensions, custom ones and "
                         "triggers included) or the plain loop it ran, written out (torch alone; extensions other "
                         "than the standard few are marked)")
    where = migrate.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", metavar="OUT",
                       help="write the result here: one input file to OUT, or into it when OUT is a directory or "
                       "ends in /; several inputs into the directory OUT (a tree is mirrored, other files copied)")
    where.add_argument("--in-place", action="store_true",
                       help="rewrite the input files (through a symbolic link: the file it points to; the link stays)")
    migrate.add_argument("--backup-suffix", metavar="SUFFIX",
                         help="with --in-place, keep each original as FILE+SUFFIX (e.g. .bak; for a link, a copy "
                         "next to the link)")
    migrate.add_argument("--diff", action="store_true", help="print the diff even when writing files")
    migrate.add_argument("--report", metavar="FILE", help="write the report to FILE instead of stderr")
    migrate.add_argument("--format", choices=["text", "json"], default="text", help="report format")
    migrate.add_argument("-j", "--jobs", type=int, default=1, metavar="N", help="processes to use")
    migrate.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                         help="skip files and directories matching GLOB (repeatable)")
    migrate.add_argument("--no-cache", action="store_true",
                         help="migrate every file afresh (by default results are kept by content in "
                         "$NETPORT_CACHE_DIR, else $XDG_CACHE_HOME/netport or ~/.cache/netport, and reused)")
    migrate.add_argument("--list-rules", action="store_true", help="print the rule catalogue and exit")
    migrate.set_defaults(handler=_migrate)

    weights = commands.add_parser(
        "convert-weights",
        help="convert Chainer .npz weights to a torch state_dict (.pt) or back",
        description="Convert a Chainer .npz (a saved link, or a Trainer snapshot) into a PyTorch "
        "state_dict saved with torch.save, or a state_dict back into an .npz. Names follow the "
        "link attributes (predictor/l1/W -> predictor.l1.weight); BatchNormalization statistics, "
        "L.LSTM gate order and L.NStepLSTM matrices are converted. With --template (a file of the "
        "target format saved from the target model) keys and shapes must match exactly.",
    )
    weights.add_argument("source", metavar="FILE", help=".npz (to torch) or .pt (to chainer)")
    weights.add_argument("-o", "--output", required=True, metavar="OUT", help="file to write")
    weights.add_argument("--to", choices=["torch", "chainer"],
                         help="target format (default: inferred from FILE's content: a torch file converts to "
                         "chainer, an npz to torch)")
    weights.add_argument("--template", metavar="FILE", help="the target model's own weights, to check against")
    weights.set_defaults(handler=_convert_weights)

    shapes = commands.add_parser(
        "check-shapes",
        help="find layer-shape mismatches before training starts",
        usage="netport check-shapes SCRIPT [options] [-- SCRIPT_ARGS...]",
        description="Find layers fed inputs of the wrong width before a long run crashes. By default the "
        "script is interpreted over shapes (it is not run and neither Chainer nor torch is imported): argparse "
        "defaults, the units list and short loops are followed with their real values, data loops once with a "
        "symbolic batch. With --run the program runs tiny on synthetic data with layer hooks and stops at the "
        "first shape error. Finding lines are `path:line:col: error[NPS001] ...`. Exit status: 0 no errors, "
        "1 errors found, 2 usage or a file it cannot read or parse.",
    )
    shapes.add_argument("script", metavar="SCRIPT", help="the training script (its local imports are followed), or a "
                        "directory: every .py file under it is checked on its own")
    # the script's own arguments follow `--`; main() splits them off before parsing
    shapes.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override an argparse option of the script by its dest name (repeatable)")
    shapes.add_argument("--run", action="store_true",
                        help="dynamic mode: run the program tiny on CPU with synthetic data and layer hooks")
    shapes.add_argument("--python", metavar="PYTHON",
                        help="with --run: the interpreter that has the script's framework (default: this one)")
    shapes.add_argument("--timeout", type=float, default=300, metavar="S", help="with --run: time limit (s)")
    shapes.add_argument("--chainer-version", metavar="X.Y",
                        help="the Chainer version whose error message to predict (default: the installed one, "
                        "else 7.8)")
    shapes.add_argument("--format", choices=["text", "json", "sarif"], default="text", help="report format")
    shapes.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    shapes.set_defaults(handler=_check_shapes)

    doctor = commands.add_parser(
        "doctor",
        help="why doesn't it learn? find training-loop mistakes, statically or in a short run",
        usage="netport doctor SCRIPT [options] [-- SCRIPT_ARGS...]",
        description="Find the mistakes that keep a Chainer or torch program from learning. By default the script "
        "is read, not run: gradients read after zero_grad()/cleargrads() (ND001), steps that never clear the "
        "gradients (ND002), backward() on a loss computed under no_grad()/no_backprop_mode() (ND003), eval mode "
        "left on over training (ND004), raw 0-255 data fed to a sigmoid/BCE network (ND005). With --run the "
        "program runs a few dozen optimizer steps on CPU with hooks and the training statistics are judged: "
        "saturated sigmoid/tanh layers (ND101), dead ReLUs and exact-zero pre-activations (ND102), gradient-norm "
        "ratios between layers (ND103), parameters whose gradient stays zero (ND104), the first NaN/Inf (ND105), "
        "a loss that does not decrease (ND106). Finding lines are `path:line:col: warning[NDxxx] ...`. "
        "Exit status: 0 nothing found, 1 warnings, 2 usage or a file it cannot read or parse.",
    )
    doctor.add_argument("script", nargs="?", metavar="SCRIPT", help="the training script")
    doctor.add_argument("--run", action="store_true",
                        help="run the program a few dozen optimizer steps on CPU with hooks and report its "
                        "training statistics")
    doctor.add_argument("--gradcheck", metavar="MODULE:FUNCTION",
                        help="check hand-written gradients against finite differences instead (FUNCTION returns "
                        "the case to check)")
    doctor.add_argument("--python", metavar="PYTHON",
                        help="with --run: the interpreter that has the script's framework (default: this one)")
    doctor.add_argument("--timeout", type=float, default=300, metavar="S", help="with --run: time limit (s)")
    doctor.add_argument("--format", choices=["text", "json", "sarif"], default="text", help="report format")
    doctor.add_argument("-o", "--output", metavar="FILE", help="write the report to FILE instead of stdout")
    doctor.set_defaults(handler=_doctor)

    check = commands.add_parser(
        "verify",
        help="compare a legacy model and its migrated form layer by layer on the same weights",
        description="Build LEGACY and MIGRATED (factories `file.py:function` returning a Chainer link, a "
        "torch module, or (model, forward)) each in its own interpreter, give the migrated one the legacy "
        "one's weights (converted for torch), run one random input in inference mode, and print the "
        "largest difference of every layer's output. Exit 0 when all agree within the tolerances.",
    )
    check.add_argument("legacy", metavar="LEGACY_FACTORY")
    check.add_argument("migrated", metavar="MIGRATED_FACTORY")
    check.add_argument("--input-shape", required=True, metavar="N,D,...", help="shape of the random input")
    check.add_argument("--legacy-python", metavar="PYTHON", help="interpreter for the legacy side "
                       "(e.g. .venv-legacy/bin/python; default: this one)")
    check.add_argument("--migrated-python", metavar="PYTHON", help="interpreter for the migrated side")
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--rtol", type=float, default=1e-5)
    check.add_argument("--atol", type=float, default=1e-6)
    check.set_defaults(handler=_verify)

    sae = commands.add_parser(
        "train-sae",
        help="train a stacked autoencoder on MNIST: greedy layer-wise pretraining, then fine-tuning",
        description="Train a stacked autoencoder (PyTorch) on MNIST: each layer is pretrained on the codes of the "
        "one below it, then the whole stack is fine-tuned. Writes DIR/sae.pt (state_dict), sae.json "
        "(architecture), sae.npz (the Chainer layout the seed program's StackedAutoEncoder loads), history.json, "
        "loss.png, reconstructions.png and, for a 2-D code, codes.png; DIR/checkpoint.pt after every epoch, "
        "which --resume continues from exactly. Exit status: 0 trained, 2 bad input or usage.",
    )
    # Options a checkpoint records default to None, so that --resume tells those the command line gives
    # (which must agree with the checkpoint) from those it takes from the checkpoint; TRAIN_SAE_DEFAULTS
    # fills in the rest, and the help shows them.
    def default(name: str) -> str:
        return f"(default: {TRAIN_SAE_DEFAULTS[name]})"

    activations = ["sigmoid", "relu", "tanh", "identity"]
    sae.add_argument("--data", metavar="PATH", help="MNIST source as for `netport mnist-info` (default: the "
                     "embedded 5,000-digit subset)")
    sae.add_argument("--units", metavar="N,N,...",
                     help="hidden widths, bottom to top: the layers after the input, whose width comes from the data; "
                     f"the default makes 784-1000-500-250-2 on MNIST {default('units')}")
    sae.add_argument("--epochs-pre", type=int, metavar="N",
                     help=f"pretraining epochs per layer {default('epochs_pre')}")
    sae.add_argument("--epochs-fine", type=int, metavar="N", help=f"fine-tuning epochs {default('epochs_fine')}")
    sae.add_argument("--batch-size", type=int, metavar="N", help=f"samples per step {default('batch_size')}")
    sae.add_argument("--optimizer", choices=["adam", "momentumsgd"],
                     help=f"adam (lr 0.001) or momentumsgd (lr 0.01, momentum 0.9): the seed program's "
                     f"{default('optimizer')}")
    sae.add_argument("--lr", type=float, metavar="LR", help="learning rate (default: the optimizer's)")
    sae.add_argument("--noise", type=float, metavar="P",
                     help=f"masking noise: fraction of each layer's inputs zeroed during its pretraining "
                     f"{default('noise')}")
    tying = sae.add_mutually_exclusive_group()
    tying.add_argument("--tied", dest="tied", action="store_true", default=None,
                       help="decoders use the transposed encoder weight (the default)")
    tying.add_argument("--untied", dest="tied", action="store_false", default=None,
                       help="each decoder has its own weight")
    sae.add_argument("--activation", choices=activations, help=f"every layer's nonlinearity {default('activation')}")
    sae.add_argument("--output-activation", choices=activations,
                     help="the last decoder's activation (default: --activation's)")
    sae.add_argument("--linear-code", action="store_true", default=None,
                     help="a linear code layer (Hinton & Salakhutdinov; default: off)")
    sae.add_argument("--dropout", type=float, metavar="P", help=f"dropout on layer inputs {default('dropout')}")
    sae.add_argument("--loss", choices=["mse", "bce"],
                     help=f"mean squared error (the seed's) or binary cross-entropy (sigmoid outputs; data in "
                     f"[0, 1]) {default('loss')}")
    sae.add_argument("--n-train", type=int, metavar="N", help="use only the first N training images (default: all)")
    sae.add_argument("--seed", type=int, metavar="N", help=f"random seed {default('seed')}")
    sae.add_argument("--device", metavar="DEV", help=f"cpu, cuda, cuda:N or auto (a GPU if there is one) "
                     f"{default('device')}")
    sae.add_argument("--out", default="result", metavar="DIR", help="where to write (default: result)")
    sae.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt with the architecture, "
                     "settings and data it was made with (options given must agree with them; more epochs may be)")
    sae.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")
    sae.set_defaults(handler=_train_sae)

    run = commands.add_parser(
        "run",
        help="run a legacy Chainer v1 program unchanged, its modules migrated in memory as they are imported",
        usage="netport run [options] [--] SCRIPT [ARGS...]",
        description="Run SCRIPT as `python SCRIPT ARGS` would, with the program's own modules (those under the "
        "script's directory and the directories it adds to sys.path; never the standard library or "
        "site-packages) migrated in memory by `netport migrate`'s engine as they are imported. Nothing is written "
        "to the program's tree; results are cached by content. Tracebacks, __file__ and inspect.getsource show "
        "the original files and lines. The migration report is printed once to stderr. Exit status: the "
        "program's; 1 when it ends with an uncaught exception; 2 when it does not start (bad usage, a file that "
        "cannot be migrated, or ERRORs needing manual work without --force).",
    )
    run.add_argument("--to", default="chainer", choices=["chainer", "torch"],
                     help="run on Chainer 5+ (the default) or on PyTorch")
    run.add_argument("--init", choices=["chainer", "torch"], default="chainer",
                     help="with --to torch: as for `netport migrate`")
    run.add_argument("--adam-eps", choices=["torch", "chainer"], default="torch",
                     help="with --to torch: as for `netport migrate` (chainer: Chainer's Adam update exactly)")
    run.add_argument("--trainer", choices=["loop", "ppe"],
                     help="with --to torch: as for `netport migrate`")
    run.add_argument("--force", action="store_true",
                     help="run even when the migration left ERRORs (code it could not convert)")
    run.add_argument("-q", "--quiet", action="store_true", help="do not print the migration report")
    run.add_argument("--no-cache", action="store_true", help="migrate afresh instead of reading the cache")
    run.add_argument("script", metavar="SCRIPT", help="the program's main script")
    run.add_argument("program_args", nargs=argparse.REMAINDER, metavar="ARGS",
                     help="the script's own arguments (everything after SCRIPT)")
    run.set_defaults(handler=_run)

    info = commands.add_parser(
        "mnist-info",
        help="load an MNIST source and describe it (checks a --data path before a long run)",
        description="Load MNIST the way netport and its examples do and print what was found. "
        "PATH may be a Keras-style mnist.npz, a directory of the four IDX files (gzipped or not), "
        "Chainer's dataset cache directory, or 'chainer' for that cache's default location; "
        "without PATH the embedded 5,000-digit subset is used.",
    )
    info.add_argument("path", nargs="?", metavar="PATH", help="MNIST source (default: embedded subset)")
    info.set_defaults(handler=_mnist_info)
    return parser


def _migrate(args: argparse.Namespace) -> int:
    from netport import migrate

    def fail(message: str) -> int:
        print(f"netport migrate: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    if args.list_rules:
        for rule_id in sorted(migrate.RULES):  # CH001... then PT001... (RULES is in registration order)
            print(f"{rule_id}  {migrate.RULES[rule_id].summary}")
        return EXIT_OK
    if not args.paths:
        return fail("no PATH given")
    if args.backup_suffix and not args.in_place:
        return fail("--backup-suffix needs --in-place")
    if args.jobs < 1:
        return fail("--jobs must be at least 1")
    try:
        if args.init != "chainer" and args.to != "torch":
            return fail("--init applies to --to torch only")
        if args.adam_eps != "torch" and args.to != "torch":
            return fail("--adam-eps applies to --to torch only")
        if args.trainer is not None and args.to != "torch":
            return fail("--trainer applies to --to torch only")
        from netport.migrate.cache import default_directory

        migration = migrate.migrate_paths(args.paths, target=args.to, jobs=args.jobs, exclude=args.exclude,
                                          init=args.init, adam_eps=args.adam_eps,
                                          trainer=args.trainer or DEFAULT_TRAINER, cache=None if args.no_cache else default_directory())
        report = migration.report
        if args.diff or not (args.output or args.in_place):
            sys.stdout.write("".join(migrate.unified_diff(r) for r in report.files))
        if args.output or args.in_place:
            migrate.write_outputs(migration, out=args.output, in_place=args.in_place,
                                  backup_suffix=args.backup_suffix)
    except migrate.UsageError as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    rendered = report.to_json() if args.format == "json" else report.to_text()
    if args.report:
        from pathlib import Path

        from netport.atomic import write_atomic

        try:
            write_atomic(Path(args.report), rendered)
        except OSError as exc:
            return fail(f"{exc.filename or args.report}: cannot write the report ({exc.strerror or exc})")
        print(report.summary_line(), file=sys.stderr)
    else:
        sys.stderr.write(rendered)
    return report.exit_code


def _convert_weights(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netport.weights import WeightConversionError, convert_file, infer_target
    from netport.weights.files import WRITES

    source, output = Path(args.source), Path(args.output)
    if not source.exists():
        print(f"netport convert-weights: error: {source}: no such file", file=sys.stderr)
        return EXIT_USAGE
    if output.resolve() == source.resolve():
        print("netport convert-weights: error: the output would overwrite the input", file=sys.stderr)
        return EXIT_USAGE
    to = args.to or infer_target(source)
    try:
        written = convert_file(source, output, to=to, template=Path(args.template) if args.template else None)
    except WeightConversionError as exc:
        print(f"netport convert-weights: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the output cannot be written
        print(f"netport convert-weights: error: {exc.filename or output}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    for key, shape in sorted(written.items()):
        print(f"{key:40} {shape}")
    print(f"wrote {output} ({WRITES[to]}, {len(written)} arrays)", file=sys.stderr)
    return EXIT_OK


def _verify(args: argparse.Namespace) -> int:
    from netport.verify import VerifyError, verify

    try:
        shape = tuple(int(n) for n in args.input_shape.split(","))
    except ValueError:
        print(f"netport verify: error: --input-shape must be integers separated by commas, not "
              f"{args.input_shape!r}", file=sys.stderr)
        return EXIT_USAGE
    try:
        result = verify(args.legacy, args.migrated, shape, legacy_python=args.legacy_python,
                        migrated_python=args.migrated_python, seed=args.seed, rtol=args.rtol, atol=args.atol)
    except VerifyError as exc:
        print(f"netport verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    sys.stdout.write(result.to_text())
    return EXIT_OK if result.ok else 1


def _check_shapes(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netport.atomic import write_atomic
    from netport.shapes import AnalysisError, check_dynamic, check_static, render_json, render_sarif, render_text
    from netport.shapes.api import check_directory
    from netport.shapes.report import render_reports

    def fail(message: str) -> int:
        print(f"netport check-shapes: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    overrides = {}
    for item in args.set:
        name, equals, value = item.partition("=")
        if not equals or not name.isidentifier():
            return fail(f"--set takes NAME=VALUE, not {item!r}")
        overrides[name] = value
    script_args = getattr(args, "script_args", [])
    version = None
    if args.chainer_version:
        try:
            version = tuple(int(part) for part in args.chainer_version.split("."))
        except ValueError:
            return fail(f"--chainer-version takes a version such as 1.24 or 7.8, not {args.chainer_version!r}")
    if args.timeout <= 0:
        return fail(f"--timeout must be more than 0 seconds, not {args.timeout:g}")
    script = Path(args.script)
    if not script.is_file() and not script.is_dir():
        return fail(f"{script}: no such file or directory")
    output = Path(args.output) if args.output else None
    if output is not None:
        blocker = next((p for p in output.parents if p.exists()), None)
        if output.is_dir() or blocker is not None and not blocker.is_dir():
            # found before the (possibly long) check, not after it
            return fail(f"-o {output}: {output if output.is_dir() else blocker} is "
                        f"{'a directory' if output.is_dir() else 'not a directory'}")
    reports, refused = [], []
    try:
        if script.is_dir():  # every script under it, each checked on its own
            reports, refused = check_directory(script, script_args, overrides, run=args.run, python=args.python,
                                               timeout=args.timeout, chainer_version=version)
            if not reports and not refused:
                return fail(f"{script}: no .py files in this directory")
        elif args.run:
            reports = [check_dynamic(script, script_args, overrides, python=args.python, timeout=args.timeout)]
        else:
            reports = [check_static(script, script_args, overrides, chainer_version=version)]
    except AnalysisError as exc:
        return fail(str(exc))
    for message in refused:  # a directory's files that could not be checked; the others were
        print(f"netport check-shapes: error: {message}", file=sys.stderr)
    rendered = render_reports(reports, args.format) if script.is_dir() else \
        {"text": render_text, "json": render_json, "sarif": render_sarif}[args.format](reports[0])
    if output is not None:
        try:
            write_atomic(output, rendered)
        except OSError as exc:
            return fail(f"-o {output}: cannot write the report ({exc.strerror or exc})")
    else:
        sys.stdout.write(rendered)
    return 1 if any(report.errors for report in reports) else EXIT_USAGE if refused else EXIT_OK


def _doctor(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netport.atomic import write_atomic
    from netport.doctor import AnalysisError, diagnose, diagnose_run
    from netport.doctor.report import RENDERERS

    def fail(message: str) -> int:
        print(f"netport doctor: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    if args.gradcheck:
        if args.script or args.run:
            return fail("--gradcheck takes no SCRIPT and no --run")
        from netport.doctor.gradcheck import main_gradcheck

        return main_gradcheck(args.gradcheck, fmt=args.format, output=args.output)
    if not args.script:
        return fail("no SCRIPT given")
    if args.timeout <= 0:
        return fail(f"--timeout must be more than 0 seconds, not {args.timeout:g}")
    script = Path(args.script)
    if not script.is_file():
        return fail(f"{script}: {'is a directory' if script.is_dir() else 'no such file'}")
    script_args = getattr(args, "script_args", [])
    if script_args and not args.run:
        return fail("script arguments (after --) apply to --run only")
    try:
        report = diagnose_run(script, script_args, python=args.python, timeout=args.timeout) if args.run \
            else diagnose(script)
    except AnalysisError as exc:
        return fail(str(exc))
    rendered = RENDERERS[args.format](report)
    if args.output:
        try:
            write_atomic(Path(args.output), rendered)
        except OSError as exc:
            return fail(f"-o {args.output}: cannot write the report ({exc.strerror or exc})")
    else:
        sys.stdout.write(rendered)
    return 1 if report.warnings else EXIT_OK


# train-sae's defaults, the seed program's (applied after --resume has taken what the checkpoint holds)
TRAIN_SAE_DEFAULTS = {"units": "1000,500,250,2", "epochs_pre": 10, "epochs_fine": 10, "batch_size": 100,
                      "optimizer": "adam", "noise": 0.0, "tied": True, "activation": "sigmoid", "linear_code": False,
                      "dropout": 0.0, "loss": "mse", "seed": 0, "device": "auto"}


def _train_sae(args: argparse.Namespace) -> int:
    try:
        from netport.sae.command import run
    except ImportError as exc:
        print(f"netport train-sae: error: {exc.name or exc} is not installed: pip install 'netport[sae]'",
              file=sys.stderr)
        return EXIT_USAGE
    return run(args, TRAIN_SAE_DEFAULTS)


def _run(args: argparse.Namespace) -> int:
    from netport.compat.runner import RunRefused, run_script
    from netport.migrate.options import UsageError

    def fail(message: str) -> int:
        print(f"netport run: error: {message}", file=sys.stderr)
        return EXIT_USAGE

    for option, default in (("init", "chainer"), ("adam_eps", "torch"), ("trainer", None)):
        if getattr(args, option) != default and args.to != "torch":
            return fail(f"--{option.replace('_', '-')} applies to --to torch only")
    try:
        return run_script(args.script, args.program_args, target=args.to, init=args.init, adam_eps=args.adam_eps,
                          trainer=args.trainer or DEFAULT_TRAINER, cache=not args.no_cache, force=args.force,
                          quiet=args.quiet)
    except (UsageError, RunRefused) as exc:
        return fail(str(exc))


def _mnist_info(args: argparse.Namespace) -> int:
    import numpy as np

    from netport.data import MNISTError, load_mnist

    try:
        mnist = load_mnist(args.path)
    except MNISTError as exc:
        print(f"netport mnist-info: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(f"source:  {mnist.source}")
    for split, x, y in (("train", mnist.x_train, mnist.y_train), ("test", mnist.x_test, mnist.y_test)):
        counts = " ".join(str(c) for c in np.bincount(y, minlength=10))
        print(f"{split + ':':8} x {x.shape} {x.dtype} in [{x.min():.1f}, {x.max():.1f}], "
              f"mean {x.mean():.4f}; labels per class {counts}")
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: list[str] = []
    if argv[:1] in (["check-shapes"], ["doctor"]) and "--" in argv:  # `COMMAND SCRIPT [options] -- SCRIPT ARGS`
        split = argv.index("--")
        argv, script_args = argv[:split], argv[split + 1:]
    args = parser.parse_args(argv)
    args.script_args = script_args
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        status = args.handler(args)
        sys.stdout.flush()  # a write still buffered must fail here, not at interpreter exit
    except BrokenPipeError:
        return _stdout_closed()
    return status


def _stdout_closed() -> int:
    """The reader of stdout went away (`netport ... | head -1`): end quietly, as a program killed by SIGPIPE.

    Python's recipe: point stdout (and stderr, when it is the same pipe) at devnull, so that flushing what is
    still buffered at exit raises nothing ("Exception ignored ... BrokenPipeError")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (AttributeError, OSError, ValueError):  # not a real file (a test's capture)
            pass
    os.close(devnull)
    return EXIT_BROKEN_PIPE
