"""Augment rare classes with new training texts, or have an LLM second-guess labels.

Usage:
    python src/augment.py --output augmented.tsv                          # offline, no server
    python src/augment.py --backend llm --url http://127.0.0.1:8080/v1 --llm-model qwen2.5 \\
        --rare-below 500 --per-class 200 --output llm.tsv
    python src/augment.py --mode validate --url http://127.0.0.1:11434/v1 --llm-model llama3.2 \\
        --output validation.tsv
    python src/train_biLSTM.py --extra-train augmented.tsv

--mode generate (default) adds up to --per-class texts to every class with fewer than
--rare-below training examples:
- --backend offline: a training example of the class with words replaced by their
  nearest neighbours in --embeddings vectors (emotag.augment.offline); the example's
  labels are kept. Needs no server.
- --backend llm: an OpenAI-compatible chat server (llama.cpp, Ollama, vLLM: --url,
  --llm-model) writes --batch texts per request, shown --shots training texts of the
  class; prompts are the files in --prompts-dir (prompts/). The new texts get the
  class as their only label; --check-generated also asks the server whether each one
  expresses it and drops those it denies.
Every new text must be new (not a dataset text of any split, nor an earlier new one),
have --min-words to --max-words words, enough distinct words and pass the English
heuristic of emotag.augment.filters. The output is a TSV (id, text, labels, source) that training
reads with --extra-train (train only, never dev or test), plus <out>.json: counts per
class and of rejections by reason.

--mode validate asks the server which labels each training text of the rare classes
(at most --validate-limit, rarest class first) expresses, and writes id, text, given,
llm, missing (given, not named by the LLM) and extra (named, not given); ids of
disagreements can go to --exclude-ids after a look.

Dataset flags are those of train_biLSTM.py (--dataset, --data-dir, ...).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import logging
import math
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from emotag.augment.filters import CandidateFilter, TextChecks
from emotag.augment.llm import PROMPTS_DIR, ChatClient, Prompts, parse_labels, parse_lines
from emotag.config import choice, dataclass_parser, option, positive_int, setup_logging
from emotag.data.datasets import DatasetSpec, load_dataset
from emotag.data.goemotions import Dataset
from emotag.data.splits import write_extra_rows

log = logging.getLogger("augment")


@dataclasses.dataclass
class AugmentConfig(DatasetSpec):
    """Dataset flags (emotag.data.datasets.DatasetSpec) plus the augmenter's own."""

    # generate new texts for the rare classes, or validate their labels with the LLM
    mode: str = choice("generate", ("generate", "validate"))
    # generate with: offline (embedding-neighbour substitution) or llm (a chat server)
    backend: str = choice("offline", ("offline", "llm"))
    output: str = "augmented.tsv"  # output TSV file; a JSON report is written beside it
    rare_below: int = 500  # classes with fewer training examples than this are augmented
    per_class: int = 200  # at most this many new texts per class (and up to --rare-below)
    seed: int = 0  # seed of every random choice here and of the LLM's sampling
    min_words: int = 3  # length check: fewest words of a new text
    max_words: int = 60  # length check: most words of a new text
    min_ascii: float = 0.9  # language check: share of ASCII letters
    min_stopwords: float = 0.15  # language check: share of English function words
    min_distinct: float = 0.5  # repetition check: share of distinct words
    url: str = "http://127.0.0.1:8080/v1"  # llm: OpenAI-compatible server
    llm_model: str = "local"  # llm: model name the server expects
    prompts_dir: str = str(PROMPTS_DIR)  # llm: system.txt, generate.txt, validate.txt
    batch: int = option(10, type=positive_int)  # llm: texts asked for per request
    shots: int = 5  # llm: training texts of the class shown per request
    temperature: float = 0.9  # llm: sampling temperature of generation
    max_tokens: int = 600  # llm: answer length cap
    timeout: float = 120.0  # llm: seconds per request
    check_generated: bool = False  # llm: keep a new text only if the LLM names its class
    validate_limit: int = 200  # validate: texts checked (0 = every text of the rare classes)
    embeddings: str = "minilm-static"  # offline: word vectors (as train bilstm's --embeddings)
    cache_dir: str = "embeddings"  # offline: vector cache
    p: float = 0.3  # offline: replacement probability of each replaceable word
    neighbours: int = 5  # offline: nearest neighbours to choose from
    min_similarity: float = 0.5  # offline: least cosine similarity of a replacement
    cue_words: int = 30  # offline: protected cue words per class
    tries: int = 5  # attempts per wanted text before a class gives up


def build_parser():
    """The command line of `emotag augment` (flags and help from `AugmentConfig`)."""
    return dataclass_parser(AugmentConfig, __doc__)


def parse_args(argv=None) -> AugmentConfig:
    return AugmentConfig(**vars(build_parser().parse_args(argv)))


def rare_class_plan(data: Dataset, rare_below: int, per_class: int) -> dict[str, int]:
    """{label: texts to add} for labels with fewer than `rare_below` training examples,
    rarest first."""
    counts = data.train.labels.sum(axis=0).astype(int)
    order = np.argsort(counts, kind="stable")
    return {
        data.label_names[c]: int(min(per_class, rare_below - counts[c]))
        for c in order
        if counts[c] < rare_below
    }


def class_rows(data: Dataset, label: str) -> np.ndarray:
    """Indices of the training rows that have `label`."""
    return np.flatnonzero(data.train.labels[:, data.label_names.index(label)] > 0)


def generate_offline(config: AugmentConfig, data: Dataset, plan: dict, keep: CandidateFilter):
    """Yields new rows made by neighbour substitution (emotag.augment.offline)."""
    from emotag.augment.offline import NeighbourSubstitution, cue_words, words_of
    from emotag.embeddings.sources import word_vectors

    train = data.train
    counts = Counter(w for text in train.texts for w in words_of(text))
    vocabulary = sorted(w for w, n in counts.items() if n >= 2)
    # word2vec / fastText are trained here on the training texts, as words_of splits them.
    vectors, found = word_vectors(
        vocabulary, config.embeddings, cache_dir=config.cache_dir,
        train_token_lists=[words_of(text) for text in train.texts], seed=config.seed,
    )  # fmt: skip
    log.info("%s: vectors for %d of %d training words", config.embeddings, found.sum(),
             len(vocabulary))  # fmt: skip
    cues = cue_words(train.texts, train.labels, data.label_names, per_class=config.cue_words)
    protected = {w for words in cues.values() for w in words}
    substitution = NeighbourSubstitution(
        vocabulary, np.where(found[:, None], vectors, 0.0), protected,
        k=config.neighbours, min_similarity=config.min_similarity,
    )  # fmt: skip
    rng = np.random.default_rng(config.seed)
    for label, wanted in plan.items():
        rows = class_rows(data, label)
        if not len(rows):
            continue
        # Sources in rounds of a fresh permutation: each is used once before any twice.
        sources = np.concatenate(
            [rng.permutation(rows) for _ in range(-(-wanted * config.tries // len(rows)))]
        )
        made = 0
        for i in tqdm(sources[: wanted * config.tries], desc=label, leave=False):
            if made == wanted:
                break
            i = int(i)
            text = substitution.augment(train.texts[i], config.p, rng)
            if keep(text):
                made += 1
                names = [data.label_names[c] for c in np.flatnonzero(train.labels[i])]
                yield {"id": f"aug-offline-{label}-{made}", "text": text, "labels": names,
                       "source": f"offline:{train.ids[i]}", "class": label}  # fmt: skip


def generate_llm(config: AugmentConfig, data: Dataset, plan: dict, keep: CandidateFilter):
    """Yields new rows written by the chat server (prompts/generate.txt)."""
    client = make_client(config)
    prompts = Prompts(config.prompts_dir)
    rng = np.random.default_rng(config.seed)
    for label, wanted in plan.items():
        rows = class_rows(data, label)
        made, calls = 0, math.ceil(wanted / config.batch) * config.tries
        for _ in tqdm(range(calls), desc=label, leave=False):
            if made == wanted:
                break
            shown = rng.choice(rows, size=min(config.shots, len(rows)), replace=False)
            n = min(config.batch, wanted - made)
            examples = [data.train.texts[i] for i in shown]
            answer = client.chat(prompts.generate_messages(label, n, examples))
            for text in parse_lines(answer)[:n]:
                if not keep(text):
                    continue
                if config.check_generated:
                    said = parse_labels(client.chat(prompts.validate_messages(
                        text, data.label_names)), data.label_names)  # fmt: skip
                    if label not in said:
                        keep.rejected["llm_disagrees"] += 1
                        continue
                made += 1
                yield {"id": f"aug-llm-{label}-{made}", "text": text, "labels": [label],
                       "source": f"llm:{config.llm_model}", "class": label}  # fmt: skip


def make_client(config: AugmentConfig) -> ChatClient:
    return ChatClient(config.url, config.llm_model, temperature=config.temperature,
                      max_tokens=config.max_tokens, timeout=config.timeout,
                      seed=config.seed)  # fmt: skip


def generate(config: AugmentConfig) -> dict:
    """Writes the new rows (TSV) and their report (JSON); returns the report."""
    data = load_dataset(config)
    plan = rare_class_plan(data, config.rare_below, config.per_class)
    log.info("classes under %d training examples: %s", config.rare_below, plan or "none")
    existing = data.train.texts + data.dev.texts + data.test.texts
    checks = TextChecks(config.min_words, config.max_words, config.min_ascii,
                        config.min_stopwords, config.min_distinct)  # fmt: skip
    keep = CandidateFilter(existing, checks)
    maker = generate_offline if config.backend == "offline" else generate_llm
    rows = list(maker(config, data, plan, keep))
    out = Path(config.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_extra_rows(out, rows)
    made = Counter(row["class"] for row in rows)
    counts = data.train.labels.sum(axis=0)
    report = {
        "config": dataclasses.asdict(config),
        "rows": len(rows),
        "candidates": keep.accepted + sum(keep.rejected.values()),
        "classes": {
            label: {
                "train_count": int(counts[data.label_names.index(label)]),
                "wanted": wanted,
                "kept": made[label],
            }
            for label, wanted in plan.items()
        },  # fmt: skip
        "rejected": dict(keep.rejected),
    }
    Path(f"{out}.json").write_text(json.dumps(report, indent=2))
    log.info("%d new rows -> %s; rejected: %s", len(rows), out, dict(keep.rejected) or "none")
    return report


def validate(config: AugmentConfig) -> dict:
    """Writes the LLM's labels next to the given ones for texts of the rare classes."""
    data = load_dataset(config)
    plan = rare_class_plan(data, config.rare_below, config.per_class)
    order = list(dict.fromkeys(i for label in plan for i in class_rows(data, label)))
    if config.validate_limit:
        order = order[: config.validate_limit]
    client, prompts = make_client(config), Prompts(config.prompts_dir)
    names, train = data.label_names, data.train
    disagreements = 0
    out = Path(config.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f, delimiter="\t", lineterminator="\n")
        writer.writerow(["id", "text", "given", "llm", "missing", "extra"])
        for i in tqdm(order, desc="validate"):
            given = [names[c] for c in np.flatnonzero(train.labels[i])]
            said = parse_labels(client.chat(prompts.validate_messages(train.texts[i], names)),
                                names)  # fmt: skip
            missing = [n for n in given if n not in said]
            extra = [n for n in said if n not in given]
            disagreements += bool(missing or extra)
            text = " ".join(train.texts[i].split())
            writer.writerow([train.ids[i], text, ",".join(given), ",".join(said),
                             ",".join(missing), ",".join(extra)])  # fmt: skip
    report = {"config": dataclasses.asdict(config), "checked": len(order),
              "disagreements": disagreements}  # fmt: skip
    Path(f"{out}.json").write_text(json.dumps(report, indent=2))
    log.info("%d of %d texts disagree with the LLM -> %s", disagreements, len(order), out)
    return report


def main(argv=None) -> int:
    setup_logging()
    config = parse_args(argv)
    if config.mode == "validate":
        validate(config)
    else:
        generate(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
