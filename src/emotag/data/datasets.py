"""Every dataset the scripts train on, behind one entry point: `load_dataset(spec)`.

Datasets (`DatasetSpec.dataset`):
- `goemotions`: `emotag.data.goemotions.load_goemotions` (`data_dir` or $GOEMOTIONS_DIR,
  `taxonomy`).
- `semeval-ec`: SemEval-2018 Task 1 E-c, English: tab-separated train, dev and test
  files with the columns `ID`, `Tweet` and one 0/1 column per emotion of
  `SEMEVAL_EC_LABELS`; a tweet may have none. Files come from `train_file` /
  `dev_file` / `test_file`, else from `data_dir` (or $SEMEVAL_EC_DIR) by name: the one
  file whose name has the word train / dev (or val, valid) / test (preferring one
  with "gold"), e.g. `2018-E-c-En-train.txt`, `2018-E-c-En-test-gold.txt`.
- `csv`: any CSV, TSV or JSON Lines files (`emotag.data.tables`) with a text column and
  either one binary column per label (`label_cols`, default every column but the text
  and id columns) or a column listing each row's labels (`labels_col`, names or ids).
  Label names for ids come from `label_cols` (in id order) or `labels.txt` /
  `emotions.txt` beside the training file; names alone are collected from the files.

Then, in this order, for every dataset: when there is no dev split, one is carved from
train by seeded iterative stratification (`dev_fraction`, `split_seed`); `limit` keeps
the first rows of train; `exclude_ids` drops training rows; `train_size` keeps a seeded,
stratified sample of the rest (`subset_seed`; learning curves: for one seed, a smaller
sample is part of a larger one); `extra_train` rows are appended to train. Dev and test
are never edited (`emotag.data.splits`).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from emotag.config import choice, option, positive_int
from emotag.data.goemotions import SPLITS, TAXONOMIES, DataFormatError, Dataset, load_goemotions
from emotag.data.splits import (
    concat,
    drop_ids,
    limit_rows,
    read_extra_rows,
    read_id_list,
    replace_train,
    stratified_sample,
    stratified_split,
    take,
)
from emotag.data.tables import (
    FORMATS,
    Table,
    binary_label_columns,
    find_id_column,
    list_label_names,
    parse_table,
    read_table,
)

log = logging.getLogger(__name__)

DATASETS = ("goemotions", "semeval-ec", "csv")
SEMEVAL_EC_ENV = "SEMEVAL_EC_DIR"
SEMEVAL_EC_LABELS = (
    "anger", "anticipation", "disgust", "fear", "joy", "love",
    "optimism", "pessimism", "sadness", "surprise", "trust",
)  # fmt: skip
# Words of a file name that mark its split (the name is cut at non-alphanumerics).
SPLIT_WORDS = {"train": ("train",), "dev": ("dev", "val", "valid"), "test": ("test",)}
LABEL_NAME_FILES = ("labels.txt", "emotions.txt")


@dataclasses.dataclass
class DatasetSpec:
    """What to load; every field is a flag of the training scripts (`--label-cols`, ...)."""

    # goemotions, semeval-ec (SemEval-2018 E-c tweets) or csv (CSV / TSV / JSON Lines files)
    dataset: str = choice("goemotions", DATASETS)
    # directory of the split files; None = $GOEMOTIONS_DIR (goemotions; else a local cache,
    # else a download) or $SEMEVAL_EC_DIR (semeval-ec)
    data_dir: str | None = None
    train_file: str | None = None  # training file (semeval-ec, csv); None = found in data_dir
    dev_file: str | None = None  # dev file; none given or found = a stratified share of train
    test_file: str | None = None  # test file (semeval-ec, csv); None = found in data_dir
    text_col: str | None = None  # text column; None = "Tweet" (semeval-ec) or "text" (csv)
    # id column; None = "ID" (semeval-ec), a column named id, or row numbers
    id_col: str | None = None
    # comma-separated binary label columns; with --labels-col, the label names in id order
    label_cols: str | None = None
    labels_col: str | None = None  # column listing each row's labels (names or ids)
    label_sep: str = ","  # separator of labels_col
    # GoEmotions label set: fine (27 emotions + neutral), ekman (6 + neutral) or sentiment
    # (positive, negative, ambiguous + neutral)
    taxonomy: str = choice("fine", TAXONOMIES)
    dev_fraction: float = 0.1  # share of train held out as dev when there is no dev file
    # seed of the dev split carved from train (not the training seed: dev stays fixed)
    split_seed: int = 0
    # keep the first N training rows (smoke tests); None = all
    limit: int | None = option(None, type=positive_int)
    exclude_ids: str | None = None  # drop these training ids (id column of a CSV, or one per line)
    # keep a stratified sample of N training rows (after --limit and --exclude-ids; learning
    # curves); None = all
    train_size: int | None = option(None, type=positive_int)
    subset_seed: int = 0  # seed of the --train-size sample (dev and test never change)
    extra_train: str | None = None  # TSV of extra training rows (`emotag augment` output)

    @classmethod
    def from_config(cls, config) -> DatasetSpec:
        """The spec from a script config (dataclass or dict); fields it lacks keep defaults."""
        values = config if isinstance(config, Mapping) else vars(config)
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})

    def for_evaluation(self, data_dir: str | None = None) -> DatasetSpec:
        """The same dataset without the training-only edits (limit, exclusions, sample,
        extras).

        Args:
            data_dir: replaces the spec's own when given (a run's paths may come from
                another machine).
        """
        return dataclasses.replace(
            self, limit=None, exclude_ids=None, train_size=None, subset_seed=0,
            extra_train=None, data_dir=data_dir or self.data_dir,
        )  # fmt: skip

    @property
    def label_set(self) -> str:
        """Short name of the label set, for run names: the taxonomy or the dataset."""
        return self.taxonomy if self.dataset == "goemotions" else self.dataset


def load_dataset(spec: DatasetSpec) -> Dataset:
    """Loads the dataset of `spec` and applies its training-split edits (module docstring).

    Returns:
        A `Dataset`; `taxonomy` is the GoEmotions taxonomy or the dataset name.

    Raises:
        DataFormatError: On a file that breaks its schema (names the file and row).
        FileNotFoundError: When a split file cannot be found.
    """
    if spec.dataset == "goemotions":
        if spec.train_file or spec.dev_file or spec.test_file:
            raise ValueError("goemotions reads --data-dir; --train-file etc. are for the others")
        data = load_goemotions(spec.data_dir, taxonomy=spec.taxonomy)
    elif spec.dataset == "semeval-ec":
        data = _load_semeval_ec(spec)
    elif spec.dataset == "csv":
        data = _load_csv(spec)
    else:
        raise ValueError(f"unknown dataset {spec.dataset!r}; expected one of {DATASETS}")
    train = limit_rows(data.train, spec.limit)
    if spec.exclude_ids:
        excluded = frozenset(read_id_list(spec.exclude_ids))
        train = drop_ids(train, excluded)
        data = dataclasses.replace(data, excluded_ids=excluded)
    if spec.train_size:
        train = stratified_sample(train, spec.train_size, spec.subset_seed)
        log.info("a stratified sample of %d training rows (seed %d)", spec.train_size,
                 spec.subset_seed)  # fmt: skip
    if spec.extra_train:
        extra = read_extra_rows(spec.extra_train, data.label_names)
        log.info("adding %d extra training rows from %s", len(extra.texts), spec.extra_train)
        train = concat(train, extra)
    data = replace_train(data, train)
    log.info(
        "%s: %d train / %d dev / %d test, %d labels", spec.dataset,
        len(data.train.texts), len(data.dev.texts), len(data.test.texts), len(data.label_names),
    )  # fmt: skip
    return data


def _split_files(spec: DatasetSpec, env: str | None = None) -> dict[str, Path | None]:
    """Each split's file: the explicit one, else the one named for it in the data dir."""
    explicit = {"train": spec.train_file, "dev": spec.dev_file, "test": spec.test_file}
    directory = spec.data_dir or (os.environ.get(env) if env else None)
    files: dict[str, Path | None] = {}
    for split in SPLITS:
        if explicit[split]:
            files[split] = Path(explicit[split])
        elif directory:
            files[split] = _find_split_file(Path(directory), split)
        else:
            files[split] = None
    for split in ("train", "test"):
        if files[split] is None:
            where = f"in {directory}" if directory else "(no --data-dir given)"
            raise FileNotFoundError(
                f"{spec.dataset}: no {split} file {where}; set --{split}-file or --data-dir"
            )
    for path in files.values():
        if path is not None and not path.is_file():
            raise FileNotFoundError(f"{spec.dataset}: {path} does not exist")
    return files


def _find_split_file(directory: Path, split: str) -> Path | None:
    if not directory.is_dir():
        raise FileNotFoundError(f"data directory {directory} does not exist")
    candidates = [
        path for path in sorted(directory.iterdir())
        if path.is_file() and path.suffix.lower() in FORMATS
        and set(re.split(r"[^a-z0-9]+", path.stem.lower())) & set(SPLIT_WORDS[split])
    ]  # fmt: skip
    if split == "test" and len(candidates) > 1:
        candidates = [p for p in candidates if "gold" in p.stem.lower()] or candidates
    if len(candidates) > 1:
        names = ", ".join(p.name for p in candidates)
        raise FileNotFoundError(
            f"{directory}: several {split} files ({names}); choose one with --{split}-file"
        )
    return candidates[0] if candidates else None


def _assemble(spec: DatasetSpec, tables: dict[str, Table | None], label_names, **columns):
    """Parses each table and carves dev out of train when there is no dev table."""
    splits = {
        name: parse_table(table, label_names, id_prefix=name, **columns)
        for name, table in tables.items()
        if table is not None
    }
    for name, split in splits.items():
        if not split.texts:  # an empty dev or test split would calibrate or score nothing
            raise DataFormatError(f"{tables[name].path}: no examples in the {name} split")
    if "dev" not in splits:
        train, dev = splits["train"], take(splits["train"], np.arange(0))
        if len(train.texts) >= 2:
            train, dev = stratified_split(splits["train"], spec.dev_fraction, spec.split_seed)
        if not dev.texts or not train.texts:
            raise DataFormatError(
                f"{tables['train'].path}: {len(splits['train'].texts)} rows are too few to hold "
                f"out a dev fraction of {spec.dev_fraction} (it would leave {len(dev.texts)} "
                "dev rows); give a --dev-file or more training rows"
            )
        log.info("no dev file: %d training rows held out as dev (iterative stratification, "
                 "seed %d)", len(dev.texts), spec.split_seed)  # fmt: skip
        splits.update(train=train, dev=dev)
    return Dataset(**splits, label_names=list(label_names), taxonomy=spec.dataset,
                   name=spec.dataset)  # fmt: skip


def _load_semeval_ec(spec: DatasetSpec) -> Dataset:
    files = _split_files(spec, env=SEMEVAL_EC_ENV)
    tables = {name: read_table(path) if path else None for name, path in files.items()}
    text_col, id_col = spec.text_col or "Tweet", spec.id_col or "ID"
    label_names = _names(spec.label_cols) or list(SEMEVAL_EC_LABELS)
    for table in filter(None, tables.values()):
        missing = [c for c in (id_col, text_col, *label_names) if c not in table.columns]
        if missing:
            raise DataFormatError(
                f"{table.path}: not a SemEval E-c file; missing columns {missing} "
                f"(columns: {', '.join(table.columns)})"
            )
    return _assemble(spec, tables, label_names, text_col=text_col, id_col=id_col,
                     label_cols=label_names)  # fmt: skip


def _load_csv(spec: DatasetSpec) -> Dataset:
    files = _split_files(spec)
    tables = {name: read_table(path) if path else None for name, path in files.items()}
    train = tables["train"]
    text_col = spec.text_col or "text"
    train.require(text_col, "--text-col")
    id_col = find_id_column(train, spec.id_col)
    if spec.labels_col:
        label_names = _names(spec.label_cols) or _label_name_file(files["train"].parent)
        if not label_names:
            label_names = list_label_names(list(filter(None, tables.values())), spec.labels_col,
                                           spec.label_sep)  # fmt: skip
        columns = {"labels_col": spec.labels_col, "label_sep": spec.label_sep}
    else:
        label_names = _names(spec.label_cols) or binary_label_columns(train, text_col, id_col)
        columns = {"label_cols": label_names}
    log.info("csv: text column %r, id column %r, %d labels: %s", text_col, id_col,
             len(label_names), ", ".join(label_names))  # fmt: skip
    return _assemble(spec, tables, label_names, text_col=text_col, id_col=id_col, **columns)


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()] if value else []


def _label_name_file(directory: Path) -> list[str]:
    for name in LABEL_NAME_FILES:
        path = directory / name
        if path.is_file():
            names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            log.info("label names from %s", path)
            return [n for n in names if n]
    return []
