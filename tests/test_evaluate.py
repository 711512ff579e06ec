"""kg eval scores like the reference scorer (../shared/eval/score.py) and the CLI wires it up."""

from __future__ import annotations

import json
from pathlib import Path

from kg.cli import main
from kg.evaluate import evaluate, format_report

GOLD = [
    {"doc": "a", "s": "张伟", "p": "joined", "o": "星河科技集团|星河", "role": "副总裁", "date": "2024-03-01"},
    {"doc": "a", "s": "张伟", "p": "holds_position", "o": "星河科技集团|星河", "role": "副总裁|集团副总裁"},
    {"doc": "a", "s": "北辰团队", "p": "merged_with", "o": "南风团队", "date": "2024-03"},
    {"doc": "a", "s": "张伟", "p": "founded", "o": "星河科技集团", "optional": True},
    {"doc": "a", "entity": "张伟", "type": "Person"},
    {"doc": "a", "entity": "星河科技集团|星河", "type": "Organization"},
    {"doc": "a", "entity": "新浪科技", "type": "Organization", "optional": True},
]


def pred(s: str, p: str, o: str, **extra: str) -> dict:
    return {"doc": "a", "subject": s, "predicate": p, "object": o, "subject_type": "Person",
            "object_type": "Organization", **extra}


def test_alternatives_symmetry_optional_and_qualifiers() -> None:
    rows = [
        pred("张伟", "joined", "星河", role="集团副总裁", date="2024-03-01"),  # alternative + role containment
        pred("张伟", "joined", "星河", role="x"),  # a duplicate counts once
        pred("南风团队", "merged_with", "北辰团队", date="2024-03-02"),  # symmetric, wrong date
        pred("张伟", "founded", "星河科技集团"),  # optional: neither rewarded nor punished
        pred("张伟", "left", "星河科技集团"),  # false positive
    ]
    report = evaluate(GOLD, rows)
    assert (report.facts.tp, report.facts.fp, report.facts.fn) == (2, 1, 1)
    assert report.role == (1, 1) and report.date == (1, 2)
    assert report.per_predicate["holds_position"].fn == 1
    assert report.false_positives == [("a", "left", "张伟", "星河科技集团")]
    # entities: 张伟 and 星河 (Person/Organization) match, 南风团队/北辰团队 are false positives
    assert (report.entities.tp, report.entities.fn) == (2, 0)
    text = format_report(report)
    assert text.splitlines()[-1] == "facts P 0.667 R 0.667 F1 0.667 (tp 2 fp 1 fn 1)"
    assert "FP\ta\tleft\t张伟\t星河科技集团" in text


def test_kg_eval_command(tmp_path: Path, capsys) -> None:
    gold = tmp_path / "gold.jsonl"
    gold.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in GOLD), encoding="utf-8")
    (tmp_path / "a.md").write_text('---\ntitle: "t"\ndate: "2024-03-05"\n---\n\n2024年3月1日,张伟正式加入星河科技集团,出任集团副总裁。\n',
                                   encoding="utf-8")
    assert main(["eval", str(gold), str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "joined            1.000  1.000  1.000    1    0    0" in out
    assert out.splitlines()[-1].startswith("facts P 1.000 R 0.667")
