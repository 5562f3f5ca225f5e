"""Train a tiny policy/value model on a Metamath corpus, then open it with plain transformers.

``agents.train.resolve_config(task, size, overrides)`` gives the typed config (an unknown
key or a wrong type is an error) and ``agents.train.train(config)`` runs it: a tokenizer
trained on the corpus, a Llama-style decoder from scratch, checkpoints written atomically.
The model is retrieval-augmented (``hints``): its prompt carries the labels that the
nearest training goals used, ``GOAL <goal> HINT <labels> PROOFSTEP <step>``. A finished
run folder is a Hugging Face model folder with a model card, so
``AutoModelForCausalLM.from_pretrained(run_dir)`` opens it; ``agents.policy.Policy`` is
provergym's way to propose steps with it (beam search, exact log-probabilities).

A few dozen steps on hol.mm's 1,813 training records teach it little: this shows the
mechanics, not a useful model (``make demo`` trains one on set.mm).

Takes about 20 seconds (60 steps, one torch thread). Writes under ``--out`` (default: a
temporary folder, deleted at exit).

    python examples/03_train.py
    python examples/03_train.py --corpus /tmp/pg/corpus --out /tmp/pg/run   # keep it for 04
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

HOL_MM = "/usr/share/metamath/databases/hol.mm"
GOAL = "|- R |= ( S , T )"  # jca's conclusion in hol.mm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", help="a Metamath corpus folder (02_corpus.py --out); "
                        "default: build hol.mm's in the temporary folder")
    parser.add_argument("--db", default=HOL_MM, help="database of the corpus built without "
                        f"--corpus (default {HOL_MM})")
    parser.add_argument("--out", help="the run folder, new or empty (default: a temporary one)")
    parser.add_argument("--steps", type=int, default=60, help="optimizer steps")
    parser.add_argument("--hints", type=int, default=4,
                        help="retrieved labels in the prompt (0: none)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="provergym-example-") as scratch:
        os.environ["PROVERGYM_HOME"] = str(Path(scratch) / "home")  # nothing in ~/.cache
        import datasets
        import transformers

        from agents.train import read_log, resolve_config, train
        from corpora.metamath import build_corpus

        datasets.disable_progress_bars()
        transformers.utils.logging.disable_progress_bar()
        corpus = args.corpus or build_corpus(args.db, Path(scratch) / "corpus", progress=False)
        run_dir = Path(args.out) if args.out else Path(scratch) / "run"

        config = resolve_config("metamath", "tiny", {
            "data_dir": str(corpus), "out_dir": str(run_dir), "steps": args.steps,
            "log_every": 10, "eval_every": args.steps // 2 or 1, "save_every": args.steps,
            "hints": args.hints, "progress": False, "cpu_threads": args.threads})
        print(f"training {config.size} on {corpus}: {config.steps} steps of "
              f"{config.batch_size} sequences, lr {config.lr}, hints {config.hints}")
        started = time.perf_counter()
        result = train(config)
        print(f"trained in {time.perf_counter() - started:.1f} s: {result.parameters:,} "
              f"parameters, {result.tokens_per_second:,.0f} tokens/s")
        for row in read_log(run_dir):
            print(f"  step {row['step']:4d}  train loss {row['loss']:.3f}")
        for row in read_log(run_dir, "eval"):
            print(f"  step {row['step']:4d}  valid loss {row['valid_loss']:.3f}")
        print("run folder: " + " ".join(sorted(p.name for p in run_dir.iterdir())))

        # 1. Plain transformers: the folder is a model and a tokenizer.
        from transformers import AutoModelForCausalLM, AutoTokenizer

        model = AutoModelForCausalLM.from_pretrained(run_dir)
        tokenizer = AutoTokenizer.from_pretrained(run_dir)
        print(f"\nfrom_pretrained: {type(model).__name__}, {model.num_parameters():,} "
              f"parameters, vocabulary {len(tokenizer):,}")
        prompt = f"GOAL {GOAL}"
        if config.hints:  # the labels the nearest training goals used, as in training
            from agents.retrieval import LabelRetriever

            hints = LabelRetriever.load(run_dir).hints([GOAL], config.hints)[0]
            prompt += " HINT " + " ".join(hints)
        prompt += " PROOFSTEP"
        ids = tokenizer(prompt, return_tensors="pt").input_ids
        output = model.generate(ids, max_new_tokens=16, do_sample=False,
                                pad_token_id=tokenizer.pad_token_id,
                                eos_token_id=tokenizer.eos_token_id)
        step = tokenizer.decode(output[0, ids.shape[1]:], skip_special_tokens=True)
        print(f"greedy step for {prompt!r}: {step!r}")

        # 2. provergym's policy: distinct well-formed steps with their log-probabilities.
        from agents.policy import Policy

        policy = Policy.load(run_dir)
        print(f"Policy.propose({GOAL!r}, 4):")
        for action, logprob in policy.propose(GOAL, 4):
            print(f"  {logprob:8.3f}  {action}")
        print(f"value (log p(provable)): {policy.value(GOAL):.3f}")
        if args.out:
            print(f"kept in {run_dir}")


if __name__ == "__main__":
    main()
