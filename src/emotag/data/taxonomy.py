"""GoEmotions label names and the mapping from the 28 fine labels to coarser taxonomies.

Labels are kept as data: the fine names come from `emotions.txt` and the coarse groupings from
the upstream mapping JSON files, so there is a single source of truth for every label order.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

NEUTRAL = "neutral"
TAXONOMIES = ("fine", "ekman", "sentiment")

# Each coarse taxonomy's mapping file; upstream calls the sentiment one sentiment_dict.json,
# the shared copy sentiment_mapping.json, so both names are accepted (first found wins).
MAPPING_FILES = {
    "ekman": ("ekman_mapping.json",),
    "sentiment": ("sentiment_mapping.json", "sentiment_dict.json"),
}


def load_label_names(data_dir: str | Path) -> list[str]:
    """Read the fine label names from `emotions.txt` (label id = 0-based line index).

    Args:
        data_dir: Directory holding `emotions.txt`.

    Returns:
        The label names in id order (28 for GoEmotions, the last being `neutral`).

    Raises:
        FileNotFoundError: If `emotions.txt` is missing.
        ValueError: If the file has empty or duplicate names.
    """
    path = Path(data_dir) / "emotions.txt"
    with open(path, encoding="utf-8", newline="\n") as f:
        names = [line.rstrip("\r\n") for line in f]
    if not names or any(not name.strip() for name in names):
        raise ValueError(f"{path}: label names must be non-empty, one per line")
    if len(set(names)) != len(names):
        raise ValueError(f"{path}: duplicate label names")
    return names


def _check_taxonomy(taxonomy: str) -> None:
    if taxonomy not in TAXONOMIES:
        raise ValueError(f"unknown taxonomy {taxonomy!r}; expected one of {TAXONOMIES}")


def load_mapping(taxonomy: str, data_dir: str | Path) -> dict[str, list[str]]:
    """Read the coarse-to-fine mapping JSON of a coarse taxonomy.

    Args:
        taxonomy: `"ekman"` or `"sentiment"`.
        data_dir: Directory holding the mapping file.

    Returns:
        The mapping `{coarse_name: [fine_name, ...]}` as stored (without `neutral`).

    Raises:
        FileNotFoundError: If no mapping file for `taxonomy` is present.
        ValueError: If `taxonomy` has no mapping file or the JSON is not a name -> list mapping.
    """
    _check_taxonomy(taxonomy)
    if taxonomy not in MAPPING_FILES:
        raise ValueError(f"taxonomy {taxonomy!r} has no mapping file")
    candidates = [Path(data_dir) / name for name in MAPPING_FILES[taxonomy]]
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        tried = ", ".join(str(p) for p in candidates)
        raise FileNotFoundError(f"no mapping file for taxonomy {taxonomy!r}; tried {tried}")
    with open(path, encoding="utf-8") as f:
        mapping = json.load(f)
    if not isinstance(mapping, dict) or not all(
        isinstance(v, list) and all(isinstance(x, str) for x in v) for v in mapping.values()
    ):
        raise ValueError(f"{path}: expected a JSON object of name -> list of label names")
    return mapping


def _validate_mapping(mapping: dict[str, list[str]], fine_labels: list[str], taxonomy: str) -> None:
    """Check that every non-neutral fine label is mapped exactly once and nothing else is."""
    if NEUTRAL in mapping:
        # Neutral is added by this module; a mapping listing it would duplicate the class.
        raise ValueError(f"{taxonomy} mapping must not list {NEUTRAL!r} as a coarse label")
    listed = [name for names in mapping.values() for name in names]
    expected = [name for name in fine_labels if name != NEUTRAL]
    duplicates = sorted({name for name in listed if listed.count(name) > 1})
    missing = sorted(set(expected) - set(listed))
    unknown = sorted(set(listed) - set(expected))
    problems = []
    if duplicates:
        problems.append(f"listed more than once: {duplicates}")
    if missing:
        problems.append(f"not mapped: {missing}")
    if unknown:
        problems.append(f"not non-neutral fine labels: {unknown}")
    if problems:
        raise ValueError(f"invalid {taxonomy} mapping: " + "; ".join(problems))


def taxonomy_labels(taxonomy: str, data_dir: str | Path) -> list[str]:
    """Label names of a taxonomy, in the order used for its label columns.

    Coarse labels are sorted alphabetically with `neutral` included, which is the order of the
    upstream-derived `labels.txt` files.

    Args:
        taxonomy: One of `TAXONOMIES`.
        data_dir: Directory holding `emotions.txt` and the mapping files.

    Returns:
        The label names (28 fine labels in id order, or the sorted coarse labels).
    """
    _check_taxonomy(taxonomy)
    if taxonomy == "fine":
        return load_label_names(data_dir)
    return sorted([*load_mapping(taxonomy, data_dir), NEUTRAL])


def taxonomy_matrix(fine_labels: list[str], taxonomy: str, data_dir: str | Path) -> np.ndarray:
    """0/1 matrix mapping fine multi-hot labels to a taxonomy: `coarse = fine @ M > 0`.

    Args:
        fine_labels: Fine label names in id order; must include `neutral`.
        taxonomy: One of `TAXONOMIES`; `"fine"` gives the identity.
        data_dir: Directory holding the mapping files.

    Returns:
        A float32 array of shape `(len(fine_labels), len(taxonomy_labels(...)))`.

    Raises:
        ValueError: If the mapping does not cover every non-neutral fine label exactly once.
    """
    _check_taxonomy(taxonomy)
    if NEUTRAL not in fine_labels:
        raise ValueError(f"fine labels must include {NEUTRAL!r}")
    if taxonomy == "fine":
        return np.eye(len(fine_labels), dtype=np.float32)
    mapping = load_mapping(taxonomy, data_dir)
    _validate_mapping(mapping, fine_labels, taxonomy)
    coarse = sorted([*mapping, NEUTRAL])
    fine_to_coarse = {fine: name for name, fines in mapping.items() for fine in fines}
    fine_to_coarse[NEUTRAL] = NEUTRAL
    matrix = np.zeros((len(fine_labels), len(coarse)), dtype=np.float32)
    for i, fine in enumerate(fine_labels):
        matrix[i, coarse.index(fine_to_coarse[fine])] = 1.0
    logger.debug("%s taxonomy: %d fine -> %d coarse labels", taxonomy, *matrix.shape)
    return matrix
