"""What the benchmarks that train runs share (quality, label-quality, learning-curve):
typed `--set` overrides, reusing a finished run only when it was trained with the same
configuration, a run's test figures, paired tests between seed-averaged models, mean ±
std cells, and the report files.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
from pathlib import Path

import numpy as np

from emotag.analysis.comparison import read_predictions
from emotag.evaluation.intervals import paired_bootstrap
from emotag.evaluation.metrics import macro_f1
from emotag.runs import layout

log = logging.getLogger("benchmark")

# Fields that say where a run is written or how it reports progress, not what it trains.
NOT_COMPARED = {"data_dir", "output_dir", "run_name", "verbose", "cache_dir", "backup_dir"}
# Fields whose default changed after they were added: a run saved without the field did
# this (thresholds were the exact best cuts before bagging became the default).
LEGACY_DEFAULTS = {"threshold_resamples": 0, "threshold_gold_weight": 1.0}


def parse_value(kind: str, text: str):
    """A --set value, typed like a config field whose annotation is `kind`."""
    if text == "None":
        return None
    if kind.startswith("bool"):
        return text.lower() in ("1", "true", "yes")
    if kind.startswith("int"):
        return int(text)
    if kind.startswith("float"):
        return float(text)
    return text


def parse_overrides(items: list[str], config_cls: type, flag: str = "--set") -> dict:
    """`--set KEY=VALUE ...` -> {field: typed value} for the fields of `config_cls`.

    Raises:
        SystemExit: On an item without "=" or a field `config_cls` lacks.
    """
    kinds = {f.name: str(f.type) for f in dataclasses.fields(config_cls)}
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or key not in kinds:
            raise SystemExit(
                f"{flag} {item!r}: expected FIELD=VALUE with a {config_cls.__name__} field"
            )
        overrides[key] = parse_value(kinds[key], value)
    return overrides


def is_finished(run_dir: Path, config) -> bool:
    """Whether `run_dir` holds a finished run of `config` (a config dataclass).

    A field the saved configuration lacks (added to the code after the run was trained)
    counts as what the run then did: its `LEGACY_DEFAULTS` value, else its default.

    Raises:
        SystemExit: When the run exists but was trained with another configuration (e.g.
            an earlier default), which a resumed benchmark must not mix into its tables.
    """
    if not (run_dir / layout.RUN_INFO).exists():
        return False
    saved = json.loads((run_dir / layout.TRAIN_CONFIG).read_text())
    wanted = dataclasses.asdict(config)
    defaults = {**dataclasses.asdict(type(config)()), **LEGACY_DEFAULTS}
    differ = sorted(
        k for k in wanted if k not in NOT_COMPARED and saved.get(k, defaults[k]) != wanted[k]
    )
    if differ:
        raise SystemExit(
            f"{run_dir} was trained with another configuration ("
            + ", ".join(f"{k}: {saved.get(k, defaults[k])!r} there, {wanted[k]!r} now"
                        for k in differ)  # fmt: skip
            + "); use another --runs-dir, or --report-only to tabulate what exists"
        )
    log.info("%s exists, reusing", run_dir)
    return True


def run_figures(run_dir: Path) -> dict:
    """Test figures of one run, plus the global-threshold variant from its dev calibration."""
    metrics = json.loads((run_dir / layout.OVERALL_METRICS).read_text())
    info = json.loads((run_dir / layout.RUN_INFO).read_text())
    config = json.loads((run_dir / layout.TRAIN_CONFIG).read_text())
    thresholds = json.loads((run_dir / layout.THRESHOLDS_JSON).read_text())
    test = read_predictions(run_dir / layout.predictions_name("test"))
    global_pred = test.probs >= thresholds["global_threshold"]
    return {
        "macro_f1": metrics["macro"]["f1"],
        "micro_f1": metrics["micro"]["f1"],
        "macro_precision": metrics["macro"]["precision"],
        "macro_recall": metrics["macro"]["recall"],
        "global_threshold_macro_f1": float(macro_f1(test.gold.astype(bool), global_pred)),
        "wall_time_s": info["wall_time_s"],
        "best_epoch": info.get("best_epoch"),
        "embeddings": config.get("embeddings"),
        # the exact per-class search's dev score, also for bagged thresholds: runs compare
        # on dev by what their probabilities can reach, as before bagging
        "dev_macro_f1": thresholds["dev_macro_f1"].get(
            "per_class_exact", thresholds["dev_macro_f1"]["per_class"]
        ),
        "per_class_f1": {row["label"]: row["f1"] for row in metrics["per_class"]},
        "labels": test.label_names,
        "run_dir": str(run_dir),
    }


def significance(
    results: dict[str, dict[int, dict]], reference: str, names: list[str] | None = None
) -> dict:
    """Each model's test macro-F1 difference from `reference`, with a p-value.

    Seeds are combined, not compared one by one: each model's macro-F1 is its mean over
    its seeds, every run is scored on the same resampled test examples, and the paired
    bootstrap (emotag.evaluation.intervals) tests the difference of those means. Models
    scored on other test examples than the reference are left out.

    Args:
        results: {model: {seed: run_figures(...)}}.
        reference: the model the others are compared with.
        names: the models to compare (default: every other one).

    Returns:
        {model: {"difference" (model - reference), "interval": [lo, hi], "p_value"}}.
    """
    if reference not in results:
        return {}

    def predictions(name):
        return [
            read_predictions(Path(r["run_dir"]) / layout.predictions_name("test"))
            for r in results[name].values()
        ]

    base = predictions(reference)
    gold = base[0].gold
    out = {}
    for name in names or results:
        if name == reference or name not in results:
            continue
        other = predictions(name)
        if any(p.gold.shape != gold.shape or (p.gold != gold).any() for p in other):
            continue
        test = paired_bootstrap(gold, [p.predicted for p in base], [p.predicted for p in other])
        m = test["macro_f1"]
        out[name] = {
            "difference": float(m["difference"]),
            "interval": [float(x) for x in m["interval"]],
            "p_value": float(m["p_value"]),
        }
    return out


def mean_std(values: list[float], digits: int = 4) -> str:
    """'mean ± sample std' of the values; one value alone (one seed has no spread to
    estimate: "± 0" would claim one); '-' for none."""
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {float(np.std(values, ddof=1)):.{digits}f}"


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """The options of every benchmark that trains runs: data, report, settings, no training."""
    parser.add_argument("--data-dir", help="GoEmotions directory (None = $GOEMOTIONS_DIR, "
                        "else a local cache, else a download)")  # fmt: skip
    parser.add_argument("--out", default="benchmarks/results",
                        help="directory of the report files (.json and .md)")  # fmt: skip
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE",
                        help="training settings for every run as FIELD=VALUE (fields of "
                        "emotag train bilstm), e.g. epochs=1")  # fmt: skip
    parser.add_argument("--report-only", action="store_true", help="no training; tables only")


def add_run_options(parser: argparse.ArgumentParser, runs_dir: Path) -> None:
    """`add_report_options` plus seeds, the runs directory and the experiments to train."""
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="training seeds; each experiment trains one run per seed")  # fmt: skip
    parser.add_argument("--runs-dir", default=str(runs_dir),
                        help="where the runs are written (<experiment>-s<seed>/); existing "
                        "ones are reused")  # fmt: skip
    parser.add_argument(
        "--experiments", nargs="+", metavar="NAME",
        help="train only these experiments (e.g. to split the work between processes); "
        "the tables still list every finished run",
    )  # fmt: skip
    add_report_options(parser)


def check_experiments(wanted: list[str] | None, known) -> None:
    """Refuses --experiments names the benchmark does not have, before anything runs."""
    unknown = sorted(set(wanted or ()) - set(known))
    if unknown:
        raise SystemExit(f"unknown experiments {unknown}; there are {sorted(known)}")


def write_report(out: str | Path, stem: str, payload: dict, table: str) -> None:
    """Writes <out>/<stem>.json and <stem>.md, and prints the Markdown."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=2))
    (out / f"{stem}.md").write_text(table)
    print(table)
