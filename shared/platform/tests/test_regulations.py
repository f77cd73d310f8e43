"""The regulations' text (club_platform.regulations): complete, in Simplified Chinese and
English, and every citation the repository makes names a clause that exists."""

from __future__ import annotations

import json
import re
from dataclasses import FrozenInstanceError
from importlib.resources import files
from pathlib import Path

import pytest
from club_platform import regulations
from club_platform.regulations import (
    CITATION,
    all_clauses,
    all_parts,
    clause,
    part_title,
    resolve,
)

ROOT = Path(__file__).resolve().parents[3]

# The numbering of the source: R1's parts and their items (part 1, the preface, is text
# itself), and R2's, which breaks off in part 9 item 1.
R1 = {1: 0, 2: 4, 3: 5, 4: 5, 5: 4, 6: 3, 7: 2, 8: 3, 9: 2}
R2 = {1: 2, 2: 3, 3: 5, 4: 3, 5: 3, 6: 4, 7: 2, 8: 2, 9: 1}


def _expected(regulation: str, parts: dict[int, int]) -> list[str]:
    ids = []
    for part, items in parts.items():
        if items == 0:
            ids.append(f"{regulation} §{part}")
        ids += [f"{regulation} §{part}.{item}" for item in range(1, items + 1)]
    return ids


def test_the_numbering_is_complete_and_in_order():
    assert [c.id for c in all_clauses()] == _expected("R1", R1) + _expected("R2", R2)
    assert [p.id for p in all_parts()] == (
        [f"R1 §{n}" for n in R1] + [f"R2 §{n}" for n in R2])


def test_every_clause_and_part_has_text_in_both_languages():
    for found in all_clauses():
        assert found.zh.strip() and found.en.strip(), found.id
        assert found.regulation == found.id.split()[0]
        assert found.id.startswith(f"{found.regulation} §{found.part}")
    for part in all_parts():
        assert part.zh.strip() and part.en.strip(), part.id
    for regulation in ("R1", "R2"):
        assert regulations.regulation_title(regulation, "zh").startswith("会所服务部")
        assert regulations.regulation_title(regulation, "en")
    assert regulations.source().strip()


# Characters the source had in Traditional form; none may be left.
TRADITIONAL = "規業務會員與體專確處關設質戶訊"


def test_the_chinese_is_simplified_without_the_sources_artefacts():
    texts = [c.zh for c in all_clauses()] + [p.zh for p in all_parts()]
    texts += [regulations.regulation_title(r, "zh") for r in ("R1", "R2")]
    for text in texts:
        assert not re.search(r"\([a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]", text), text
        assert not set(text) & set(TRADITIONAL), text
        assert "?" not in text, text  # the source's mis-encoded run ("確??蛻魸M")
        assert not re.search(r"[A-Za-z]", text), text  # Chinese only, no pinyin
    assert clause("R1 §4.2", "zh") == "服务人员需着装得体,禁止穿拖鞋或露趾鞋。"
    assert clause("R1 §5.4", "zh").endswith("确保客户满意度和忠诚度。")
    assert clause("R1 §8.2", "zh") == "服务人员需按照规定提供服务,确保客户满意度及服务质量。"
    assert clause("R2 §6.2", "zh") == "服务员应保持良好的个人形象,穿着得体,举止得当。"


def test_a_clause_in_the_readers_language():
    assert clause("R1 §4.2", "zh-CN") == "服务人员需着装得体,禁止穿拖鞋或露趾鞋。"
    assert clause("R1 §4.2", "zh_CN") == clause("R1 §4.2", "zh")
    assert clause("R1 §4.2", "en_GB") == clause("R1 §4.2", "en")
    assert "slippers" in clause("R1 §4.2", "en-US")
    assert clause("R1 §1", "en").startswith("The club's service department")
    with pytest.raises(ValueError):
        clause("R1 §4.2", "fr_FR")


def test_a_part_is_citable_by_its_number():
    assert resolve("R1 §4") and resolve("R2 §9")
    assert part_title("R1 §4", "zh") == "工作纪律"
    assert part_title("R1 §4.2", "en") == "Work discipline"
    assert part_title("R2 §6.3", "zh-CN") == "服务部门的纪律规定与管理措施"
    assert clause("R1 §4", "en") == "Work discipline"  # a part that is no text itself


@pytest.mark.parametrize("cid", ["R1 §4.9", "R1 §10", "R2 §9.2", "R3 §1", "R1 4.2", ""])
def test_an_unknown_clause_raises_key_error(cid):
    assert not resolve(cid)
    with pytest.raises(KeyError):
        clause(cid, "en")
    with pytest.raises(KeyError):
        part_title(cid, "en")


def test_clauses_are_frozen_and_the_truncated_one_is_marked():
    first = all_clauses()[0]
    with pytest.raises(FrozenInstanceError):
        first.zh = "changed"  # type: ignore[misc]
    assert [c.id for c in all_clauses() if c.truncated] == ["R2 §9.1"]


def test_the_package_ships_the_data():
    data = json.loads(files("club_platform.regulations").joinpath("clauses.json")
                      .read_text(encoding="utf-8"))
    assert set(data["regulations"]) == {"R1", "R2"}


def test_the_citation_pattern():
    text = "see R1 §4.2, R2 §6.3 and R1 §7; not R3 §1 nor XR1 §2.1 nor R1§2"
    assert CITATION.findall(text) == ["R1 §4.2", "R2 §6.3", "R1 §7"]


def test_the_markdown_gives_every_citation_a_heading():
    page = regulations.render_markdown()
    headings = {line.lstrip("#").strip() for line in page.splitlines() if line.startswith("#")}
    for cid in [c.id for c in all_clauses()] + [p.id for p in all_parts()]:
        assert cid in headings, cid
    assert "服务人员需着装得体,禁止穿拖鞋或露趾鞋。" in page


def _lines() -> list[tuple[str, int, str]]:
    """Every line of the services' and shared packages' sources and of docs/*.md."""
    paths = [*ROOT.glob("services/*/src/**/*"), *ROOT.glob("shared/*/src/**/*"),
             *ROOT.glob("docs/*.md")]
    found = []
    for path in sorted(p for p in paths if p.is_file()):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # not text (a compiled file, an image)
        found += [(str(path.relative_to(ROOT)), number, line)
                  for number, line in enumerate(text.splitlines(), 1)]
    return found


LINES = _lines()

# A run of citations the pattern finds only the first of: `R2 §3.3–3.5`, `R1 §2.4, §5.4`.
_SECTION = r"\d+(?:\.\d+)?(?:\s*[–-]\s*\d+(?:\.\d+)?)?"
RUN = re.compile(rf"\b(R[12]) (§{_SECTION}(?:,\s*§{_SECTION})*)")


def _check(cited: list[tuple[str, int, str]]) -> None:
    missing = [f"{path}:{line}: {cid}" for path, line, cid in cited if not resolve(cid)]
    if missing:
        pytest.fail("these citations name no clause of the regulations (docs/regulations.md "
                    "lists them all):\n  " + "\n  ".join(missing), pytrace=False)


def test_every_citation_in_the_repository_resolves():
    cited = [(path, number, cid) for path, number, line in LINES
             for cid in CITATION.findall(line)]
    assert len(cited) > 50  # the scan did find the repository's citations
    _check(cited)


def test_every_clause_of_a_range_or_list_of_citations_resolves():
    """`R2 §3.3–3.5` cites R2 §3.5 too, and `R1 §2.4, §5.4` R1 §5.4."""
    cited = [(path, number, f"{run[1]} §{section}") for path, number, line in LINES
             for run in RUN.finditer(line) for section in re.findall(r"\d+(?:\.\d+)?", run[2])]
    assert any("–" in line and RUN.search(line) for _, _, line in LINES)
    _check(cited)
