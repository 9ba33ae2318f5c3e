"""Tag texts with a trained run.

Usage:
    python src/inference.py --model artifacts/<run> "I love this!" "What a mess."
    python src/inference.py --model artifacts/<run> --file comments.txt --json > out.jsonl
    cat comments.txt | python src/inference.py --model artifacts/<run>
    python src/inference.py --model artifacts/<run> --explain "Thank you so much!"
    python src/inference.py --model artifacts/<run> --explain-out heatmaps/ "Thank you!"

Texts come from the arguments, else --file (one text per line), else standard input.
Output: one line per text with its emotions, emoji and probabilities, or JSON Lines
with --json. --threshold replaces the calibrated per-class thresholds by one value.
--explain-out DIR writes each text's attention heat map as DIR/001.html and DIR/001.png, ...

Bad input never stops the run: lines are split on "\\n" only, invalid UTF-8 bytes (in a
file, standard input or an argument) become U+FFFD, texts over
emotag.text.inputs.MAX_TEXT_CHARS characters are cut, and an item that cannot be scored
is reported on its own line ("error" in JSON Lines). Readable output shows control
characters in a text as escapes (\\x1b, \\x00, \\n, ...) so they cannot act on the
terminal; --json keeps the exact text.

Exit status: 0 when every text was tagged (including texts with replaced bytes); 2 for
invalid flags (e.g. --batch-size 0); 1 when the run cannot be opened or read.
"""

from __future__ import annotations

import dataclasses
import sys

from emotag.config import dataclass_parser, non_negative_int, option, positive_int
from emotag.serving.explain import write_explanations
from emotag.serving.predictor import Predictor, configure_threads
from emotag.text.inputs import argv_text, json_line, printable


@dataclasses.dataclass
class InferenceConfig:
    model: str  # run directory, e.g. artifacts/<run>
    # texts to tag; none = read --file, else standard input (one text per line)
    texts: list[str] = option(default_factory=list, positional=True, nargs="*")
    file: str | None = None  # read texts from this file, one per line
    json: bool = False  # write JSON Lines (one record per text) instead of readable lines
    explain: bool = False  # print each token's attention weight (attention models)
    # write each text's attention heat map as DIR/001.html and DIR/001.png, ...
    explain_out: str | None = option(None, metavar="DIR")
    threshold: float | None = None  # one global threshold in (0, 1) instead of the calibrated ones
    batch_size: int = option(256, type=positive_int)  # texts per SavedModel call
    # TensorFlow intra-op threads per process; None = what the run serves best with
    # (1 for BiLSTM runs), 0 = TensorFlow's default (one per core)
    intra_op_threads: int | None = option(None, type=non_negative_int)


def build_parser():
    """The command line of `emotag predict` (flags and help from `InferenceConfig`)."""
    return dataclass_parser(InferenceConfig, __doc__)


def parse_args(argv=None) -> InferenceConfig:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.threshold is not None and not 0 < args.threshold < 1:
        parser.error("--threshold must be between 0 and 1")
    return InferenceConfig(**vars(args))


def read_texts(config: InferenceConfig, stdin=None) -> list[str]:
    """Texts from the arguments, else the file, else standard input."""
    if config.texts:
        return [argv_text(text) for text in config.texts]
    if config.file:
        with open(config.file, "rb") as f:
            return split_lines(f.read())
    stdin = stdin or sys.stdin
    if hasattr(stdin, "buffer"):  # a real stream: read bytes, so bad UTF-8 cannot raise
        return split_lines(stdin.buffer.read())
    return [line.rstrip("\n").rstrip("\r") for line in stdin]


def split_lines(data: bytes) -> list[str]:
    """One text per "\n"-terminated line (a final "\r" dropped), bad UTF-8 replaced.

    Only "\n" ends a line, so a stray "\r", form feed or U+2028 inside a text does not
    split it and line numbers match `wc -l`.
    """
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [line.removesuffix(b"\r").decode("utf-8", errors="replace") for line in lines]


def format_explanation(pairs: list[tuple[str, float]]) -> str:
    """'token(0.31) token(0.02) ...' with the heaviest token marked by *."""
    if not pairs:
        return "(no tokens)"
    top = max(range(len(pairs)), key=lambda i: pairs[i][1])
    return " ".join(f"{'*' if i == top else ''}{tok}({w:.2f})" for i, (tok, w) in enumerate(pairs))


def run(config: InferenceConfig, out=None, stdin=None) -> int:
    out = out or sys.stdout
    texts = read_texts(config, stdin)
    configure_threads(config.model, config.intra_op_threads)
    predictor = Predictor.load(config.model, batch_size=config.batch_size)
    predictions = predictor.predict(texts, threshold=config.threshold, errors="skip")
    explained = predictor.explain(texts) if config.explain or config.explain_out else None
    explanations = explained if config.explain else [None] * len(texts)
    for prediction, explanation in zip(predictions, explanations):
        if config.json:
            record = prediction.to_json()
            if explanation is not None:
                record["attention"] = [[t, round(w, 4)] for t, w in explanation]
            out.write(json_line(record) + "\n")
        else:
            out.write(f"{printable(prediction.text)}\n  -> {prediction.format()}\n")
            if explanation is not None:
                out.write(f"  attention: {format_explanation(explanation)}\n")
    if config.explain_out:
        labels = [p.labels for p in predictions]
        written = write_explanations(texts, explained, labels, config.explain_out)
        print(f"wrote {len(written)} heat map files to {config.explain_out}", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    # A run that is not there or not valid ends `emotag predict` with one line naming
    # the file (`emotag.cli.reporting_errors`).
    return run(parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
