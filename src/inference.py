"""Tag texts with a trained run.

Usage:
    python src/inference.py --model artifacts/<run> "I love this!" "What a mess."
    python src/inference.py --model artifacts/<run> --file comments.txt --json > out.jsonl
    cat comments.txt | python src/inference.py --model artifacts/<run>
    python src/inference.py --model artifacts/<run> --explain "Thank you so much!"

Texts come from the arguments, else --file (one text per line), else standard input.
Output: one line per text with its emotions, emoji and probabilities, or JSON Lines
with --json. --threshold replaces the calibrated per-class thresholds by one value.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from emotag.predictor import Predictor  # noqa: E402


@dataclasses.dataclass
class InferenceConfig:
    model: str  # run directory
    texts: list[str]  # texts given on the command line
    file: str | None = None  # one text per line
    json: bool = False  # JSON Lines output
    explain: bool = False  # print tokens with attention weights
    threshold: float | None = None  # one global threshold instead of the calibrated ones
    batch_size: int = 256


def parse_args(argv=None) -> InferenceConfig:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="run directory, e.g. artifacts/<run>")
    parser.add_argument("texts", nargs="*", help="texts to tag")
    parser.add_argument("--file", help="read texts from this file, one per line")
    parser.add_argument("--json", action="store_true", help="write JSON Lines")
    parser.add_argument("--explain", action="store_true", help="show attention weight per token")
    parser.add_argument("--threshold", type=float, help="global threshold in (0, 1)")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    if args.threshold is not None and not 0 < args.threshold < 1:
        parser.error("--threshold must be between 0 and 1")
    return InferenceConfig(**vars(args))


def read_texts(config: InferenceConfig, stdin=None) -> list[str]:
    """Texts from the arguments, else the file, else standard input."""
    if config.texts:
        return list(config.texts)
    if config.file:
        with open(config.file, encoding="utf-8", errors="replace") as f:
            return [line.rstrip("\n").rstrip("\r") for line in f]
    stdin = stdin or sys.stdin
    return [line.rstrip("\n").rstrip("\r") for line in stdin]


def format_explanation(pairs: list[tuple[str, float]]) -> str:
    """'token(0.31) token(0.02) ...' with the heaviest token marked by *."""
    if not pairs:
        return "(no tokens)"
    top = max(range(len(pairs)), key=lambda i: pairs[i][1])
    return " ".join(f"{'*' if i == top else ''}{tok}({w:.2f})" for i, (tok, w) in enumerate(pairs))


def run(config: InferenceConfig, out=None, stdin=None) -> int:
    out = out or sys.stdout
    texts = read_texts(config, stdin)
    predictor = Predictor.load(config.model, batch_size=config.batch_size)
    predictions = predictor.predict(texts, threshold=config.threshold)
    explanations = predictor.explain(texts) if config.explain else [None] * len(texts)
    for prediction, explanation in zip(predictions, explanations):
        if config.json:
            record = prediction.to_json()
            if explanation is not None:
                record["attention"] = [[t, round(w, 4)] for t, w in explanation]
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            out.write(f"{prediction.text}\n  -> {prediction.format()}\n")
            if explanation is not None:
                out.write(f"  attention: {format_explanation(explanation)}\n")
    return 0


def main(argv=None) -> int:
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
