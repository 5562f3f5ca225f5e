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
    evaluate.add_argument("--split", choices=("valid", "test"), default="valid")
    evaluate.add_argument("--data", help="corpus folder (default: the model's training data)")
    evaluate.add_argument("--limit", type=int, default=300,
                          help="evaluate on this many records (seeded sample; 0: all)")
    evaluate.add_argument("--k", type=int, default=8, help="candidates for top-k (beam width)")
    evaluate.add_argument("--no-baselines", action="store_true",
                          help="skip the majority/k-NN/SVM baselines")
    evaluate.add_argument("--database", help="Metamath: the .mm file, to measure the share "
                          "of proposed steps that the environment accepts")
    evaluate.add_argument("--no-solve", action="store_true",
                          help="rewrite: skip chaining the model's steps in Coq")
    evaluate.add_argument("--threads", type=int, default=1,
                          help="torch CPU threads (1 is fastest on a shared machine)")
    evaluate.set_defaults(func=run_eval)


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", choices=TASK_CHOICES, required=True)
    parser.add_argument("--size", choices=SIZE_CHOICES, default="tiny")
    parser.add_argument("--data", help="corpus folder (default: $PROVERGYM_HOME/corpora/TASK)")
    parser.add_argument("--out", help="run folder (default: $PROVERGYM_HOME/runs/TASK-SIZE)")
    parser.add_argument("--steps", type=int, help="optimizer steps (the schedule's length)")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run in --out from its latest checkpoint")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override any TrainConfig field (repeatable), e.g. --set lr=1e-3")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


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
                                database=args.database, solve=not args.no_solve)
    except UserError:
        raise
    except (ValueError, FileNotFoundError) as error:  # e.g. no model in the folder given
        raise UserError(str(error)) from error
    print(format_report(report))
    return 0
