"""Exact vs bagged per-class thresholds, chosen on dev -> benchmarks/results/thresholds.md.

Usage:
    emotag benchmark thresholds --models artifacts/<run> [artifacts/<run> ...]
    emotag benchmark thresholds --semeval-style /tmp/semeval-style

Per-class thresholds tuned on dev overfit it: each class's cut is fitted to its few dev
positives. `--threshold-resamples` (`calibration.bagged_threshold_per_class`) averages the
cuts of bootstrap resamples of dev instead. Whether that pays is decided on dev alone:
`--halves` times, dev is split at random into two halves, thresholds are tuned on one
half by each method and scored (macro-F1) on the other. Test is then scored once per run
and method, with thresholds tuned on all of dev, for the record.

Each run's probabilities come from its SavedModel (`Predictor.predict_proba`, the run's
temperature included); the "at least one label" rule is left out of both methods. A third
figure, "served", is the run as a run trained today is served: `calibrate` with bagging
(the bagged cuts, refitted to the run's objective if not macro, and the at-least-one rule
when it helps dev).
`--semeval-style DIR` measures a TF-IDF baseline trained on the synthetic SemEval-2018
E-c files of `emotag.benchmarks.calibration` instead (small dev: 886 tweets).
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np

from emotag.config import (
    HelpFormatter,
    command_line,
    positive_int,
    setup_logging,
)
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.evaluation.calibration import (
    bagged_threshold_per_class,
    best_threshold_per_class,
    calibrate,
)
from emotag.evaluation.metrics import macro_f1
from emotag.evaluation.scoring import THRESHOLD_RESAMPLES

log = logging.getLogger("benchmark.thresholds")


def tune(method: str, probs: np.ndarray, labels: np.ndarray, resamples: int) -> np.ndarray:
    """Per-class thresholds by `method`: "exact" or "bagged"."""
    if method == "exact":
        return best_threshold_per_class(probs, labels).thresholds
    return bagged_threshold_per_class(probs, labels, resamples).thresholds


def bagged_and_served(probs, labels, resamples: int, objective: str = "macro") -> tuple:
    """(bagged cuts, served `Calibration`) from one bagged search: for the macro objective
    `calibrate` serves the bagged cuts themselves, for another it refits them."""
    served = calibrate(probs, labels, objective=objective, resamples=resamples)
    if objective == "macro":
        return served.thresholds, served
    return tune("bagged", probs, labels, resamples), served


def half_splits(n: int, halves: int, seed: int = 0):
    """`halves` random splits of `n` dev rows into (tuning rows, scoring rows), seeded: the
    splits every held-out-half comparison shares."""
    rng = np.random.default_rng(seed)
    for _ in range(halves):
        order = rng.permutation(n)
        yield order[: n // 2], order[n // 2 :]


def held_out_halves(
    probs, labels, resamples: int, halves: int, seed: int = 0, objective: str = "macro"
) -> dict:
    """Macro-F1 on one random half of dev of thresholds tuned on the other, per method.

    Besides the two methods, "served" is what a run trained today does with the tuning
    half (`calibrate(resamples=..., objective=...)`: the bagged thresholds, refitted to
    the run's objective if not macro, plus the at-least-one rule when it helps that
    half), scored on the other half by macro-F1: the dev figure to compare trained runs
    by, as each will be served.

    Returns:
        {"exact": [score per split], "bagged": [...], "served": [...]}: the same splits.
    """
    scores = {"exact": [], "bagged": [], "served": []}
    for tune_rows, score_rows in half_splits(len(probs), halves, seed):
        tune_p, tune_y = probs[tune_rows], labels[tune_rows]
        score_p, score_y = probs[score_rows], labels[score_rows]
        bagged, served = bagged_and_served(tune_p, tune_y, resamples, objective)
        exact = tune("exact", tune_p, tune_y, resamples)
        scores["exact"].append(macro_f1(score_y, score_p >= exact))
        scores["bagged"].append(macro_f1(score_y, score_p >= bagged))
        scores["served"].append(macro_f1(score_y, served.predict(score_p)))
    return scores


def measure(run_dir, resamples: int, halves: int, data_dir=None) -> dict:
    """The held-out-half comparison on dev and the test figures of one run (JSON-ready)."""
    from emotag.serving.predictor import Predictor

    predictor = Predictor.load(run_dir)
    spec = DatasetSpec.from_config(predictor.run.train_config).for_evaluation(data_dir)
    data = load_dataset(spec)
    dev, test = predictor.predict_proba(data.dev.texts), predictor.predict_proba(data.test.texts)
    objective = predictor.run.train_config.get("calibrate_for", "macro")  # the run's own
    halves_scores = held_out_halves(dev, data.dev.labels, resamples, halves, objective=objective)
    gains = np.subtract(halves_scores["bagged"], halves_scores["exact"])
    result = {
        "run": Path(run_dir).name,
        "dev_examples": len(data.dev.texts),
        "halves": {k: [float(x) for x in v] for k, v in halves_scores.items()},
        "half_gain_mean": float(gains.mean()),
        "half_gain_se": float(gains.std(ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else None,
        "half_wins": int((gains > 0).sum()),
    }
    bagged, served = bagged_and_served(dev, data.dev.labels, resamples, objective)
    cuts = {"exact": tune("exact", dev, data.dev.labels, resamples), "bagged": bagged}
    for method, thresholds in cuts.items():
        result[method] = {
            "dev_macro_f1": macro_f1(data.dev.labels, dev >= thresholds),
            "test_macro_f1": macro_f1(data.test.labels, test >= thresholds),
        }
    result["served"] = {
        "at_least_one": bool(served.at_least_one),
        "dev_macro_f1": macro_f1(data.dev.labels, served.predict(dev)),
        "test_macro_f1": macro_f1(data.test.labels, served.predict(test)),
    }
    return result


def report(results: list[dict], command: str, resamples: int, halves: int, note=None) -> str:
    lines = ["# Per-class thresholds: exact best cuts vs bagged over resamples of dev", "",
             f"`{command}`", ""]  # fmt: skip
    lines += [note, ""] if note else []
    lines += [
        f"**Chosen on dev.** Dev split {halves} times at random into halves; thresholds "
        f"tuned on one half (exact best cut per class, or the mean of the best cuts of "
        f"{resamples} bootstrap resamples of that half), macro-F1 on the other half. "
        "Gain = bagged minus exact, mean ± standard error over the splits (the splits "
        "share dev, so the error is a rough guide); wins = splits where bagged scored higher. "
        "Served = what a run does with the tuning half (bagged thresholds, plus the "
        "at-least-one rule when it helps there), scored on the other half: the dev figure "
        "to compare runs by as each is served.",
        "",
        "| run | dev texts | held-out half: exact | bagged | gain | wins | served |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        se = "" if r["half_gain_se"] is None else f" ± {r['half_gain_se']:.4f}"
        lines.append(
            f"| {r['run']} | {r['dev_examples']} | {np.mean(r['halves']['exact']):.4f} | "
            f"{np.mean(r['halves']['bagged']):.4f} | {r['half_gain_mean']:+.4f}{se} | "
            f"{r['half_wins']}/{len(r['halves']['exact'])} | "
            f"{np.mean(r['halves']['served']):.4f} |"
        )
    lines += [
        "",
        "**Test, scored once per run and method** (thresholds tuned on all of dev; dev "
        "macro-F1 at the same thresholds, where the exact cuts are best by construction). "
        "Test served: the bagged thresholds with the at-least-one rule if it helps dev, "
        "what a run trained today is served with:",
        "",
        "| run | dev exact | dev bagged | test exact | test bagged | test gain "
        "| at least one | test served |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for r in results:
        e, b, s = r["exact"], r["bagged"], r["served"]
        lines.append(
            f"| {r['run']} | {e['dev_macro_f1']:.4f} | {b['dev_macro_f1']:.4f} | "
            f"{e['test_macro_f1']:.4f} | {b['test_macro_f1']:.4f} | "
            f"{b['test_macro_f1'] - e['test_macro_f1']:+.4f} | "
            f"{'yes' if s['at_least_one'] else 'no'} | {s['test_macro_f1']:.4f} |"
        )
    if len(results) > 1:
        gains = [r["bagged"]["test_macro_f1"] - r["exact"]["test_macro_f1"] for r in results]
        half = [r["half_gain_mean"] for r in results]
        lines += ["", f"Mean over the {len(results)} runs: held-out-half gain "
                  f"{np.mean(half):+.4f}, test gain {np.mean(gains):+.4f}."]  # fmt: skip
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    from emotag.benchmarks.calibration import add_run_arguments

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=HelpFormatter)
    add_run_arguments(parser)
    parser.add_argument("--resamples", type=positive_int, default=THRESHOLD_RESAMPLES,
                        help="bootstrap resamples of the bagged thresholds")
    parser.add_argument("--halves", type=positive_int, default=20,
                        help="random half splits of dev to compare the methods on")
    parser.add_argument("--out", default="benchmarks/results",
                        help="directory for thresholds.md and thresholds.json (or "
                        "thresholds_semeval_style.*)")
    return parser  # fmt: skip


def main(argv=None) -> int:
    setup_logging()
    args = build_parser().parse_args(argv)
    runs, stem, note = args.models, "thresholds", None
    if args.semeval_style:
        from emotag.benchmarks.calibration import train_semeval_style

        run, note = train_semeval_style(args.semeval_style, args.semeval_style_sizes)
        note = note.replace("what each objective does", "what the two methods do")
        runs, stem = [run], "thresholds_semeval_style"
    results = []
    for run in runs:
        results.append(measure(run, args.resamples, args.halves, args.data_dir))
        log.info("%s: held-out-half gain %+.4f", results[-1]["run"], results[-1]["half_gain_mean"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(results, indent=2))
    command = command_line("benchmarks/thresholds.py", argv)
    text = report(results, command, args.resamples, args.halves, note)
    (out / f"{stem}.md").write_text(text)
    print(text)
    return 0
