"""Changes to a dataset's splits: a stratified dev split, a stratified training sample,
dropped ids, extra training rows.

Only the training split is ever edited: flagged examples leave train alone and extra
(augmented) rows join train alone, so dev and test figures stay comparable across runs.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import logging
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from emotag.data.goemotions import Split
from emotag.data.tables import parse_table, read_table, table_format
from emotag.data.textfile import read_text

log = logging.getLogger(__name__)


def take(split: Split, index) -> Split:
    """The rows of `split` at `index` (integer positions or a boolean mask), in order."""
    index = np.asarray(index)
    if index.dtype == bool:
        index = np.flatnonzero(index)
    return Split(
        texts=[split.texts[i] for i in index],
        labels=split.labels[index],
        ids=[split.ids[i] for i in index],
    )


def concat(first: Split, second: Split) -> Split:
    """`first`'s rows followed by `second`'s (same label columns)."""
    if first.labels.shape[1] != second.labels.shape[1]:
        raise ValueError(
            f"label columns differ: {first.labels.shape[1]} vs {second.labels.shape[1]}"
        )
    return Split(
        texts=first.texts + second.texts,
        labels=np.concatenate([first.labels, second.labels]).astype(np.float32),
        ids=first.ids + second.ids,
    )


def stratification_targets(labels: np.ndarray) -> np.ndarray:
    """Multi-hot labels plus a "no label" column: (n, labels + 1) int, for iterstrat."""
    none = labels.sum(axis=1, keepdims=True) == 0
    return np.concatenate([labels, none], axis=1).astype(int)


def stratified_split(split: Split, fraction: float, seed: int) -> tuple[Split, Split]:
    """Splits rows into (rest, held out) keeping every label's share close in both.

    Iterative stratification (Sechidis et al., 2011; `iterstrat`'s
    `MultilabelStratifiedShuffleSplit`), seeded. Rows without any label get their own
    "no label" column, so they are spread in proportion too.

    Args:
        split: Rows to divide.
        fraction: Share held out, in (0, 1).
        seed: Random state; the same seed gives the same split.

    Returns:
        (remaining rows, held-out rows), each in the original order.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    if not 0 < fraction < 1:
        raise ValueError(f"dev fraction must be in (0, 1), got {fraction}")
    if len(split.texts) < 2:
        raise ValueError("need at least two rows to split off a dev set")
    targets = stratification_targets(split.labels)
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    rest, held = next(splitter.split(np.zeros(len(targets)), targets))
    return take(split, np.sort(rest)), take(split, np.sort(held))


def stratified_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """An order of the rows whose every prefix keeps each label's share: the first N rows
    are a stratified sample of N, and a smaller sample is part of every larger one.

    Rare label first, as in iterative stratification (Sechidis et al., 2011): each row
    belongs to its rarest label (by count in `labels`; rows without one to a "no label"
    group). Each group is shuffled with `seed` and spread evenly over [0, 1), its k-th
    of g rows at (k + u) / g with u uniform in [0, 1); sorting by that position
    interleaves the groups, so any prefix of N rows holds about N * g / n rows of a group
    of g (within a few rows, however large the group). Labels that are never a row's
    rarest keep their share only on average. On GoEmotions train, every label's count in
    a 1,000-text sample is within 22% of its share, a third of a random sample's miss.

    Args:
        labels: Multi-hot labels, (n, labels).
        seed: Random state; the same seed gives the same order.

    Returns:
        A permutation of `range(n)`.
    """
    targets = stratification_targets(np.asarray(labels))  # (n, labels + 1)
    counts = targets.sum(axis=0)
    group = np.where(targets > 0, counts, np.iinfo(np.int64).max).argmin(axis=1)  # (n,)
    rng = np.random.default_rng(seed)
    position = np.empty(len(group))
    for g in np.unique(group):
        rows = rng.permutation(np.flatnonzero(group == g))
        position[rows] = (np.arange(len(rows)) + rng.random(len(rows))) / len(rows)
    return np.argsort(position, kind="stable")


def stratified_sample(split: Split, size: int, seed: int) -> Split:
    """`size` rows of `split` that keep every label's share (`stratified_order`), in the
    split's order; for one seed, the sample of a smaller size is part of a larger one.

    Raises:
        ValueError: When `size` is not in 1..len(split).
    """
    if not 1 <= size <= len(split.texts):
        raise ValueError(f"cannot sample {size} of {len(split.texts)} training rows")
    chosen = stratified_order(split.labels, seed)[:size]
    return take(split, np.sort(chosen))


def read_id_list(path: str | Path) -> set[str]:
    """Ids from a file: the `id` column of a CSV/TSV (e.g. `audit_labels.py`'s
    label_issues.csv), else one id per line (blank lines and `#` comments skipped)."""
    path = Path(path)
    text = read_text(path)
    lines = text.splitlines()
    if path.suffix.lower() in (".csv", ".tsv") and lines:
        delimiter = "," if table_format(path) == "csv" else "\t"
        header = next(csv.reader(lines[:1], delimiter=delimiter))
        if "id" in header:
            with io.StringIO(text, newline="") as f:
                return {row["id"] for row in csv.DictReader(f, delimiter=delimiter)}
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def drop_ids(split: Split, ids: Iterable[str]) -> Split:
    """`split` without the rows whose id is in `ids` (ids it lacks are counted, logged)."""
    ids = set(ids)
    keep = np.array([i not in ids for i in split.ids], dtype=bool)
    dropped = int((~keep).sum())
    log.info("dropping %d of %d training rows by id (%d listed ids are not in train)",
             dropped, len(keep), len(ids - set(split.ids)))  # fmt: skip
    return take(split, keep)


# Columns of the extra-training TSV that `src/augment.py` writes and `read_extra_rows` reads.
EXTRA_COLUMNS = ("id", "text", "labels", "source")


def read_extra_rows(path: str | Path, label_names: list[str]) -> Split:
    """Extra training rows: a table with `text` and `labels` (label names joined by ","),
    optional `id`; the labels must belong to `label_names`. A header alone gives no rows.

    Raises:
        DataFormatError: On a missing column, an empty text or an unknown label.
    """
    table = read_table(path)
    if not table.rows:  # an augmentation run may keep nothing; that is no error
        log.warning("%s holds no rows", path)
    return parse_table(
        table, label_names, text_col="text", id_col="id" if "id" in table.columns else None,
        labels_col="labels", label_sep=",", id_prefix=f"extra-{Path(path).stem}",
    )  # fmt: skip


def write_extra_rows(path: str | Path, rows: Iterable[dict]) -> int:
    """Writes rows ({"id", "text", "labels": [names], "source"}) as `read_extra_rows` reads
    them: tab-separated, header first; whitespace runs in texts (tabs, line breaks)
    become one space.

    Returns:
        The number of rows written.
    """
    count = 0
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("\t".join(EXTRA_COLUMNS) + "\n")
        for row in rows:
            text = " ".join(row["text"].split())
            f.write(f"{row['id']}\t{text}\t{','.join(row['labels'])}\t{row.get('source', '')}\n")
            count += 1
    return count


def limit_rows(split: Split, limit: int | None) -> Split:
    """The first `limit` rows (all when None or 0)."""
    return take(split, np.arange(min(limit, len(split.texts)))) if limit else split


def replace_train(data, train: Split):
    """`data` (a `Dataset`) with another training split."""
    return dataclasses.replace(data, train=train)
