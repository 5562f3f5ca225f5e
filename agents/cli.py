"""``provergym train`` and ``provergym eval``: their arguments, and the calls into
``agents.train`` and ``agents.evaluate``.

This module is imported to build ``provergym``'s parser, so it imports those two (and
torch) only when a command runs: ``provergym --help`` does not pay for them. Errors reach
``provergym.cli.main`` as :class:`provergym.errors.UserError` (``ConfigError`` and
``DataError`` are ones), which prints them and picks the exit code; so do a
``ProverError`` and Ctrl-C. An interrupted run continues with ``--resume``.
"""

from __future__ import annotations

import argparse

from provergym.cliargs import renamed
from provergym.errors import UserError

TASK_CHOICES = ("metamath", "coq", "rewrite")
SIZE_CHOICES = ("tiny", "small", "base")


def register(subparsers) -> None:
    train = subparsers.add_parser(
        "train", help="train a policy/value model (GPT-f style, two prompts)",
        description="Train a decoder-only model from scratch on a corpus built by "
                    "`provergym corpus build`.")
    add_train_arguments(train)
    train.set_defaults(func=run_train)

    evaluate = subparsers.add_parser(
        "eval", help="evaluate a trained model on a corpus split",
        description="Exact match of proof steps, value accuracy and calibration; for Coq, "
                    "GamePad's tactic-class and position tasks against baselines.")
    evaluate.add_argument("--model", required=True, help="a run folder or an hf/ folder")
    evaluate.add_argument("--split", choices=("valid", "test"), default="valid",
                          help="the corpus split to evaluate on")
    evaluate.add_argument("--data", help="corpus folder (default: the model's training data)")
    evaluate.add_argument("--limit", type=int, default=300,
                          help="evaluate on this many records (seeded sample; 0: all)")
    evaluate.add_argument("--k", type=int, default=8, help="candidates for top-k (beam width)")
    evaluate.add_argument("--no-baselines", action="store_true",
                          help="skip the majority/k-NN/SVM baselines")
    evaluate.add_argument("--db", help="Metamath: the .mm file, to measure the share "
                          "of proposed steps that the environment accepts")
    renamed(evaluate, "--database", "--db", "db")
    evaluate.add_argument("--no-solve", action="store_true",
                          help="rewrite: skip chaining the model's steps in Coq")
    evaluate.add_argument("--threads", type=int, default=1,
                          help="torch CPU threads (1 is fastest on a shared machine)")
    evaluate.set_defaults(func=run_eval)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", choices=TASK_CHOICES, required=True,
                        help="which corpus and prompts: set.mm steps, Coq states, rewrites")
    parser.add_argument("--size", choices=SIZE_CHOICES, default="tiny",
                        help="model size (agents.model.SIZES)")
    parser.add_argument("--data", help="corpus folder (default: $PROVERGYM_HOME/corpora/TASK)")
    parser.add_argument("--out", help="run folder (default: $PROVERGYM_HOME/runs/TASK-SIZE)")
    parser.add_argument("--steps", type=int, help="optimizer steps (the schedule's length)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its latest checkpoint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any TrainConfig field (repeatable), e.g. --set lr=1e-3 "
                             "(each field also has its own flag, below)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    _add_config_flags(parser)


# TrainConfig fields with a flag of their own above (or none: task, size).
_COVERED = {"task", "size", "data_dir", "out_dir", "steps", "progress"}


def _field_docs() -> dict[str, str]:
    """Each TrainConfig field's comment in the source (trailing, or the lines above it):
    the one place the fields are documented, so the flags' help cannot drift from it."""
    import inspect
    import re

    from agents.train import TrainConfig

    docs: dict[str, str] = {}
    pending: list[str] = []
    for line in inspect.getsource(TrainConfig).splitlines()[1:]:
        text = line.strip()
        if text.startswith("#"):
            pending.append(text.lstrip("# ").strip())
            continue
        match = re.match(r"(\w+)\s*:[^=]*=[^#]*(?:#\s*(.*))?$", text)
        if match:
            docs[match.group(1)] = " ".join([*pending, match.group(2) or ""]).strip()
        pending = []
    return docs


def _add_config_flags(parser: argparse.ArgumentParser) -> None:
    """A typed flag per TrainConfig field (``--batch-size 32``, ``--no-length-buckets``),
    generated from the dataclass: none is hidden behind --set any more."""
    import dataclasses
    import typing

    from agents.train import SIZE_DEFAULTS, TrainConfig

    docs = _field_docs()
    hints = typing.get_type_hints(TrainConfig)
    group = parser.add_argument_group("training settings (TrainConfig; default: the "
                                      "dataclass's, or the size's where it sets one)")
    for field in dataclasses.fields(TrainConfig):
        if field.name in _COVERED:
            continue
        kind = hints[field.name]
        flag = "--" + field.name.replace("_", "-")
        per_size = {size: values[field.name] for size, values in SIZE_DEFAULTS.items()
                    if field.name in values}
        default_text = ", ".join(f"{s} {v}" for s, v in per_size.items())
        help_text = docs.get(field.name) or field.name.replace("_", " ")
        help_text += (f" (default {field.default!r}; " + default_text + ")" if per_size
                      else f" (default {field.default!r})")
        help_text = help_text.replace("%", "%%")
        if kind is bool:
            group.add_argument(flag, dest=f"config_{field.name}", default=None,
                               action=argparse.BooleanOptionalAction, help=help_text)
        elif typing.get_origin(kind) is tuple:
            group.add_argument(flag, dest=f"config_{field.name}", default=None, nargs="*",
                               metavar="DIR", help=help_text)
        else:
            group.add_argument(flag, dest=f"config_{field.name}", default=None, type=kind,
                               metavar=field.name.upper(), help=help_text)


def run_train(args: argparse.Namespace) -> int:
    from agents.train import ConfigError, resolve_config, resume_config, train

    overrides: dict[str, object] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set wants KEY=VALUE, got {item!r}")
        overrides[key.strip()] = value.strip()
    if args.data:
        overrides["data_dir"] = args.data
    if args.out:
        overrides["out_dir"] = args.out
    if args.steps is not None:
        overrides["steps"] = args.steps
    if args.no_progress:
        overrides["progress"] = False
    for key, value in vars(args).items():
        if key.startswith("config_") and value is not None:
            overrides[key[len("config_"):]] = tuple(value) if isinstance(value, list) else value
    try:
        # on --resume, the run's saved config rules; only what was given again changes
        configure = resume_config if args.resume else resolve_config
        config = configure(args.task, args.size, overrides)
        result = train(config, resume=args.resume)
    except UserError:
        raise
    except (ValueError, FileNotFoundError) as error:  # from the libraries training calls
        raise UserError(str(error)) from error
    print(f"trained {config.task}/{config.size} ({result.parameters:,} parameters) to step "
          f"{result.step}: loss {result.last_loss:.4f}, {result.tokens_per_second:,.0f} tokens/s"
          f"\nrun folder: {result.out_dir}")
    return 0


def run_eval(args: argparse.Namespace) -> int:
    import torch

    from agents.evaluate import format_report, run_evaluation

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        report = run_evaluation(args.model, args.split, data_dir=args.data, limit=args.limit,
                                k=args.k, baselines=not args.no_baselines,
                                database=args.db, solve=not args.no_solve)
    except UserError:
        raise
    except (ValueError, FileNotFoundError) as error:  # e.g. no model in the folder given
        raise UserError(str(error)) from error
    print(format_report(report))
    return 0
