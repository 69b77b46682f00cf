"""Held-out quality of the opinion suggester on the bundled synthetic corpus, over several seeds.

Run: ``python benchmarks/bench_opinions.py`` (about 10 s). Prints the Markdown section of
``benchmarks/README.md``: accuracy of the category and level suggestions for the pipeline
(character 1–3-gram TF-IDF + logistic loss by SGD) against two peers on the same splits — a
majority-class baseline and a word-free bag of single characters — and the confusion table of
the first seed. The corpus is synthetic (``geoplan/operations/opinion_corpus.py``): these numbers
say how well the pipeline separates the generator's templates, not how it does on real opinions.
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd
from sklearn.dummy import DummyClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from geoplan.operations._opinion_helpers import CATEGORIES, LEVELS
from geoplan.operations.classifier import evaluate
from geoplan.operations.opinion_corpus import load_corpus

SEEDS = (0, 1, 2, 3, 4)


def _peer(kind: str, seed: int) -> Pipeline:
    if kind == "majority":
        return Pipeline([("tfidf", TfidfVectorizer(analyzer="char")), ("m", DummyClassifier(strategy="most_frequent"))])
    return Pipeline([("tfidf", TfidfVectorizer(analyzer="char", ngram_range=(1, 1))),
                     ("m", SGDClassifier(loss="log_loss", alpha=1e-5, max_iter=200, tol=1e-4, random_state=seed))])


def main() -> None:
    corpus = load_corpus()
    rows = []
    first = None
    for seed in SEEDS:
        t0 = time.perf_counter()
        ev = evaluate(corpus, seed=seed)
        secs = time.perf_counter() - t0
        first = first or ev
        rows.append(("geoplan (char 1–3-gram TF-IDF + SGD log-loss)", seed, ev.category_accuracy, ev.level_accuracy,
                     ev.confident_share, secs))
        tr, te = train_test_split(corpus, test_size=0.25, random_state=seed, stratify=corpus["category"])
        for kind, name in (("majority", "majority class"), ("unigram", "single characters + SGD log-loss")):
            accs = [float((_peer(kind, seed).fit(tr["text"], tr[y]).predict(te["text"]) == te[y]).mean())
                    for y in ("category", "level")]
            rows.append((name, seed, accs[0], accs[1], float("nan"), float("nan")))
    df = pd.DataFrame(rows, columns=["model", "seed", "category", "level", "confident", "seconds"])
    g = df.groupby("model", sort=False).agg(category=("category", "mean"), category_sd=("category", "std"),
                                            level=("level", "mean"), level_sd=("level", "std"),
                                            confident=("confident", "mean"), seconds=("seconds", "mean"))
    print(f"Corpus: {len(corpus)} synthetic texts, {corpus['category'].nunique()} categories, 4 levels; "
          f"25 % held out, stratified by category; seeds {', '.join(map(str, SEEDS))}.\n")
    print("| model | category accuracy | level accuracy | share with confidence ≥ 0.8 | train + score, s |")
    print("|---|---:|---:|---:|---:|")
    for name, r in g.iterrows():
        conf = "—" if np.isnan(r["confident"]) else f"{r['confident']:.0%}"
        secs = "—" if np.isnan(r["seconds"]) else f"{r['seconds']:.1f}"
        print(f"| {name} | {r['category']:.3f} ± {r['category_sd']:.3f} | {r['level']:.3f} ± {r['level_sd']:.3f} "
              f"| {conf} | {secs} |")
    assert first is not None
    print(f"\nConfusion of the categories, seed {SEEDS[0]} (rows: true, columns: suggested; "
          f"accuracy {first.category_accuracy:.3f}; of the suggestions with confidence ≥ 0.8, "
          f"{first.confident_accuracy:.1%} are right):\n")
    short = {k: k[:6] for k in CATEGORIES}
    c = first.category_confusion.rename(index=short, columns=short)
    print("| true \\ suggested | " + " | ".join(c.columns) + " |")
    print("|---|" + "---:|" * len(c.columns))
    for name, r in c.iterrows():
        print(f"| {name} | " + " | ".join(str(int(v)) for v in r) + " |")
    print(f"\nConfusion of the levels, seed {SEEDS[0]} (accuracy {first.level_accuracy:.3f}):\n")
    lv = first.level_confusion
    print("| true \\ suggested | " + " | ".join(LEVELS) + " |")
    print("|---|" + "---:|" * len(LEVELS))
    for name, r in lv.iterrows():
        print(f"| {name} | " + " | ".join(str(int(v)) for v in r) + " |")


if __name__ == "__main__":
    main()
