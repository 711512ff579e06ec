"""Extraction throughput against jieba on the same text, measured side by side in one run.

    python bench/extract.py [--mb 2] [--repeat 3]

Builds a few MB of news-like text from the sample articles (repeated with the
names varied so caches cannot help), then times, alternating so machine noise
hits both alike: ``jieba.posseg.cut`` alone, ``jieba.cut`` alone, and kg's whole
extraction (reading, sentences, mentions, rules, resolution). Prints chars/s and
the ratio kg / jieba.posseg.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import jieba
import jieba.posseg

from kg.articles import parse_article, read_paths
from kg.extract import extract
from kg.model import Article

ROOT = Path(__file__).resolve().parent.parent
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志宏"


def corpus(megabytes: float) -> list[Article]:
    """Sample articles repeated with varied person names until the text reaches ``megabytes``."""
    bodies = [a.body for a in read_paths([ROOT / "samples"]) if isinstance(a, Article)]
    out: list[Article] = []
    size, n = 0, 0
    while size < megabytes * 1_000_000:
        body = bodies[n % len(bodies)]
        name = SURNAMES[n % len(SURNAMES)] + GIVEN[n % len(GIVEN)] + GIVEN[(n // 7) % len(GIVEN)]
        body = body.replace("许主洪", name).replace("陈思远", name)
        out.append(parse_article(body, f"bench-{n}"))
        size += len(body)
        n += 1
    return out


def timed(fn, articles: list[Article]) -> float:
    start = time.perf_counter()
    fn(articles)
    return time.perf_counter() - start


def run_posseg(articles: list[Article]) -> None:
    for a in articles:
        for _ in jieba.posseg.cut(a.text):
            pass


def run_cut(articles: list[Article]) -> None:
    for a in articles:
        for _ in jieba.cut(a.text):
            pass


def run_kg(articles: list[Article]) -> None:
    for a in articles:
        extract(a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0, help="megabytes of text (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating rounds (default 3)")
    args = parser.parse_args()
    jieba.setLogLevel(60)
    jieba.initialize()
    articles = corpus(args.mb)
    chars = sum(len(a.text) for a in articles)
    extract(articles[0])  # load the lexicon and rules outside the timing
    runs: dict[str, list[float]] = {"jieba.posseg.cut": [], "jieba.cut": [], "kg extract": []}
    for _ in range(args.repeat):
        runs["jieba.posseg.cut"].append(timed(run_posseg, articles))
        runs["jieba.cut"].append(timed(run_cut, articles))
        runs["kg extract"].append(timed(run_kg, articles))
    print(f"{len(articles)} articles, {chars:,} characters, {args.repeat} alternating rounds (median)")
    medians = {name: statistics.median(times) for name, times in runs.items()}
    for name, seconds in medians.items():
        print(f"{name:18} {chars / seconds / 1000:8.1f} K chars/s  ({seconds:.2f} s)")
    ratio = medians["jieba.posseg.cut"] / medians["kg extract"]
    print(f"kg extract is {ratio:.2f}x the speed of jieba.posseg.cut on the same text")


if __name__ == "__main__":
    main()
