"""Suggest an opinion's category and level: character n-gram TF-IDF with a linear model.

Character n-grams need no Chinese word segmentation. Two pipelines (category, level) are trained
on a labelled table (``text, category, level``): the bundled synthetic corpus by default, an
office's own confirmed history with ``geoplan opinions train``. The answer is a *suggestion* with
a confidence (the model's probability of its first choice); the record keeps it apart from the
category and level a person confirms, and nothing is routed on a suggestion alone.

Examples
--------
>>> from geoplan.operations.opinion_corpus import generate_corpus
>>> s = train(generate_corpus(n_per_category=30, seed=2))
>>> out = s.suggest(["村口那段路坑洼不平，下雨天积水，希望镇上协调修一下。"])
>>> out.loc[0, "suggested_category"]
'transport'
>>> bool(0 < out.loc[0, "category_confidence"] <= 1)
True
"""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib  # type: ignore[import-untyped]
import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from geoplan.exceptions import InputError
from geoplan.operations._opinion_helpers import CATEGORIES, LEVELS, read_table, vocab_value

__all__ = ["Evaluation", "Suggester", "evaluate", "load_suggester", "read_labelled", "train"]


def read_labelled(source: str | Path) -> pd.DataFrame:
    """Read an office's labelled opinion history (CSV/Excel) for :func:`train`.

    Category and level labels may be written in Chinese (the vocabularies' labels) or as their
    codes; rows a person has not labelled (either label empty) are left out.

    Examples
    --------
    >>> df = read_labelled("routed.csv")  # doctest: +SKIP
    """
    df, _ = read_table(source)
    for col, vocab in (("category", CATEGORIES), ("level", LEVELS)):
        if col in df.columns:
            df[col] = [vocab_value(v, vocab) or v for v in df[col]]
    if {"category", "level"} <= set(df.columns):  # only the rows a person labelled
        df = df[(df["category"] != "") & (df["level"] != "")].reset_index(drop=True)
    return df

_FORMAT = "geoplan-opinion-suggester/1"


def _pipeline(seed: int) -> Pipeline:
    return Pipeline([
        ("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, min_df=1)),
        # logistic loss by SGD: probabilities for the confidence, and ~10x faster than lbfgs here
        ("model", SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=50, tol=1e-4, random_state=seed)),
    ])


def _check_labelled(df: pd.DataFrame, what: str) -> pd.DataFrame:
    missing = {"text", "category", "level"} - set(df.columns)
    if missing:
        raise InputError(f"{what}: missing column(s) {sorted(missing)} (need text, category, level)")
    df = df[["text", "category", "level"]].astype(str)
    bad_c = ~df["category"].isin(list(CATEGORIES))
    bad_l = ~df["level"].isin(list(LEVELS))
    empty = df["text"].str.strip() == ""
    for mask, field, rule in ((bad_c, "category", f"must be one of {list(CATEGORIES)}"),
                              (bad_l, "level", f"must be one of {list(LEVELS)}"), (empty, "text", "is empty")):
        if mask.any():
            rows = (np.flatnonzero(mask.to_numpy()) + 2)[:5].tolist()  # spreadsheet rows (header = 1)
            raise InputError(f"{what}: field {field} {rule} (rows {rows}{' …' if mask.sum() > 5 else ''})")
    if df["category"].nunique() < 2 or df["level"].nunique() < 2:
        raise InputError(f"{what}: needs at least two categories and two levels to learn from")
    return df


@dataclass(frozen=True)
class Suggester:
    """Two fitted pipelines and where they were trained (``trained_on``: rows and a content hash)."""

    category_model: Pipeline
    level_model: Pipeline
    trained_on: str

    def suggest(self, texts: Sequence[str]) -> pd.DataFrame:
        """Suggested category and level with confidences (0–1) for each text, in order."""
        texts = [str(t) for t in texts]
        out = pd.DataFrame(index=pd.RangeIndex(len(texts)))
        for name, model in (("category", self.category_model), ("level", self.level_model)):
            if not texts:
                out[f"suggested_{name}"] = pd.Series(dtype=str)
                out[f"{name}_confidence"] = pd.Series(dtype=float)
                continue
            proba = model.predict_proba(texts)
            best = proba.argmax(axis=1)
            out[f"suggested_{name}"] = np.asarray(model.classes_)[best]
            out[f"{name}_confidence"] = np.round(proba[np.arange(len(texts)), best], 4)
        return out

    def save(self, path: str | Path) -> Path:
        """Write the model with joblib. Only load files you wrote: joblib files can run code."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump({"format": _FORMAT, "category": self.category_model, "level": self.level_model,
                     "trained_on": self.trained_on}, path)
        return path


def load_suggester(path: str | Path) -> Suggester:
    """Read a model written by :meth:`Suggester.save` (a file you trained yourself)."""
    try:
        blob: Any = joblib.load(Path(path))
    except (OSError, EOFError, ValueError, KeyError) as exc:
        raise InputError(f"{Path(path).name}: not a readable suggester model ({type(exc).__name__})") from None
    if not isinstance(blob, dict) or blob.get("format") != _FORMAT:
        raise InputError(f"{Path(path).name}: not a geoplan opinion suggester (format {_FORMAT} expected)")
    return Suggester(blob["category"], blob["level"], str(blob["trained_on"]))


def train(labelled: pd.DataFrame, seed: int = 0) -> Suggester:
    """Fit the category and level pipelines on ``text, category, level`` rows.

    Parameters
    ----------
    labelled
        The labelled table (bundled corpus or an office's confirmed history).
    seed
        Seed of the linear model's solver (the fit is deterministic for a seed).
    """
    df = _check_labelled(labelled, "training table")
    digest = hashlib.sha256("\n".join(df["text"] + "\t" + df["category"] + "\t" + df["level"]).encode()).hexdigest()
    cat = _pipeline(seed).fit(df["text"].tolist(), df["category"].tolist())
    lvl = _pipeline(seed).fit(df["text"].tolist(), df["level"].tolist())
    return Suggester(cat, lvl, f"{len(df)} rows, sha256 {digest[:12]}")


@dataclass(frozen=True)
class Evaluation:
    """Held-out accuracy and confusion tables (rows: true label, columns: suggested)."""

    n_train: int
    n_test: int
    category_accuracy: float
    level_accuracy: float
    category_confusion: pd.DataFrame
    level_confusion: pd.DataFrame
    #: share of held-out texts whose category confidence is >= 0.8, and the accuracy on those
    confident_share: float
    confident_accuracy: float


def evaluate(labelled: pd.DataFrame, test_size: float = 0.25, seed: int = 0) -> Evaluation:
    """Train on a split stratified by category and score the held-out part.

    Examples
    --------
    >>> from geoplan.operations.opinion_corpus import generate_corpus
    >>> ev = evaluate(generate_corpus(n_per_category=30, seed=3), seed=1)
    >>> ev.n_test
    75
    """
    df = _check_labelled(labelled, "evaluation table")
    tr, te = train_test_split(df, test_size=test_size, random_state=seed, stratify=df["category"])
    model = train(tr, seed=seed)
    got = model.suggest(te["text"].tolist())
    cats, lvls = list(CATEGORIES), list(LEVELS)

    def table(true: pd.Series, pred: pd.Series, labels: list[str]) -> pd.DataFrame:
        m = confusion_matrix(true, pred, labels=labels)
        return pd.DataFrame(m, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="suggested"))

    sure = got["category_confidence"].to_numpy() >= 0.8
    ok = got["suggested_category"].to_numpy() == te["category"].to_numpy()
    return Evaluation(
        n_train=len(tr), n_test=len(te),
        category_accuracy=float(accuracy_score(te["category"], got["suggested_category"])),
        level_accuracy=float(accuracy_score(te["level"], got["suggested_level"])),
        category_confusion=table(te["category"], got["suggested_category"], cats),
        level_confusion=table(te["level"], got["suggested_level"], lvls),
        confident_share=float(sure.mean()),
        confident_accuracy=float(ok[sure].mean()) if sure.any() else float("nan"),
    )
