"""The club's service-department regulations, clause by clause, in Chinese and English.

Code and docs cite them as `R1 §4.2` (Regulation 1, clause 4.2) and `R2 §6.3` (Regulation 2,
part 6, item 3); a part is cited by its number alone (`R1 §4`). The text is data, in
`clauses.json` beside this module (where it comes from is in its `source`), so that a console
can show a clause in the reader's language and `docs/regulations.md`, generated from it by
`render_markdown()`, gives every citation a heading to follow.

    clause("R1 §4.2", "zh-CN")   # 服务人员需着装得体,禁止穿拖鞋或露趾鞋。
    clause("R1 §4.2", "en_GB")   # Service staff dress properly; ...
    part_title("R1 §4.2", "en")  # Work discipline
    resolve("R1 §4")             # True: a part is citable too
    CITATION.findall(text)       # every citation in a text
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal, cast

__all__ = [
    "CITATION",
    "LANGUAGES",
    "Clause",
    "Part",
    "all_clauses",
    "all_parts",
    "clause",
    "part_title",
    "regulation_title",
    "render_markdown",
    "resolve",
    "source",
]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")

# A citation in running text: `R1 §4.2`, `R2 §6.3`, or a whole part, `R1 §7`.
CITATION = re.compile(r"\bR[12] §\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Clause:
    """One citable text: an item (`R1 §4.2`) or a part that is text itself (`R1 §1`)."""

    id: str
    regulation: str  # "R1" or "R2"
    part: str  # the part's number, "4" for R1 §4.2
    zh: str
    en: str
    truncated: bool = False  # the source breaks off inside it (R2 §9.1)

    def text(self, language: str) -> str:
        return getattr(self, _language(language))


@dataclass(frozen=True)
class Part:
    """A part of a regulation (`R1 §4`), its title in both languages and its clauses' ids."""

    id: str
    regulation: str
    number: str
    zh: str
    en: str
    clauses: tuple[str, ...]

    def title(self, language: str) -> str:
        return getattr(self, _language(language))


def _language(language: str) -> Language:
    """"zh", "zh-CN", "zh_CN", "zh-Hans-CN", "en_GB", "EN" … → "zh" or "en"."""
    code = re.split(r"[-_.@]", language.strip(), maxsplit=1)[0].lower()
    if code not in LANGUAGES:
        raise ValueError(f"no text in language {language!r}: the regulations are in "
                         f"{' and '.join(LANGUAGES)}")
    return cast(Language, code)


@cache
def _document() -> dict[str, Any]:
    text = files("club_platform.regulations").joinpath("clauses.json").read_text(encoding="utf-8")
    return json.loads(text)


@cache
def _index() -> tuple[dict[str, Clause], dict[str, Part]]:
    clauses: dict[str, Clause] = {}
    parts: dict[str, Part] = {}
    for regulation, body in _document()["regulations"].items():
        for part in body["parts"]:
            number = part["number"]
            ids = []
            for item in part["clauses"]:
                found = Clause(item["id"], regulation, number, item["zh"], item["en"],
                               item.get("truncated", False))
                clauses[found.id] = found
                ids.append(found.id)
            part_id = f"{regulation} §{number}"
            parts[part_id] = Part(part_id, regulation, number, part["title"]["zh"],
                                  part["title"]["en"], tuple(ids))
    return clauses, parts


def source() -> str:
    """Where the text comes from and what was done to it."""
    return _document()["source"]


def all_clauses() -> list[Clause]:
    """Every clause, in the regulations' order (R1 §1, R1 §2.1, … R2 §9.1)."""
    return list(_index()[0].values())


def all_parts() -> list[Part]:
    """Every part, in the regulations' order (R1 §1 … R1 §9, R2 §1 … R2 §9)."""
    return list(_index()[1].values())


def resolve(cid: str) -> bool:
    """Whether `cid` names a clause (`R1 §4.2`, `R1 §1`) or a part (`R1 §4`)."""
    clauses, parts = _index()
    return cid in clauses or cid in parts


def clause(cid: str, language: str) -> str:
    """The text of clause `cid` in `language` ("zh", "en", or a locale such as "zh-CN").

    A part's id gives the part's own text where it is text itself (`R1 §1`, the preface), and
    otherwise its title (`R1 §4` → "Work discipline"). KeyError for a citation that names
    nothing; ValueError for a language the regulations are not in.
    """
    clauses, parts = _index()
    if cid in clauses:
        return clauses[cid].text(language)
    if cid in parts:
        return parts[cid].title(language)
    raise KeyError(f"no clause {cid!r} in the regulations")


def _part_of(cid: str) -> Part:
    clauses, parts = _index()
    if cid in parts:
        return parts[cid]
    if cid in clauses:
        found = clauses[cid]
        return parts[f"{found.regulation} §{found.part}"]
    raise KeyError(f"no clause {cid!r} in the regulations")


def part_title(cid: str, language: str) -> str:
    """The title of the part `cid` is (`R1 §4`) or is in (`R1 §4.2`): "工作纪律" / "Work
    discipline". KeyError for a citation that names nothing."""
    return _part_of(cid).title(language)


def regulation_title(regulation: str, language: str) -> str:
    """"R1" or "R2" → the regulation's title."""
    try:
        title = _document()["regulations"][regulation]["title"]
    except KeyError:
        raise KeyError(f"no regulation {regulation!r}") from None
    return title[_language(language)]


def _anchor(cid: str) -> str:
    """The anchor a Markdown renderer (GitHub's) gives the heading `cid`: `R1 §4.2` → r1-42."""
    return re.sub(r"[^a-z0-9 -]", "", cid.lower()).replace(" ", "-")


def render_markdown() -> str:
    """docs/regulations.md: a heading per part and per clause, each text in both languages."""
    document = _document()
    lines = [
        "# The service-department regulations (R1, R2)",
        "",
        "Generated by `docs/generate.py` from "
        "`shared/platform/src/club_platform/regulations/clauses.json` (the module "
        "`club_platform.regulations` reads it); do not edit by hand.",
        "",
        "Code and docs cite the regulations as `R1 §4.2` (Regulation 1, clause 4.2) and "
        "`R2 §6.3` (Regulation 2, part 6, item 3); a part is cited by its number alone "
        "(`R1 §7`). Each has a heading of its own below, so a link to a citation is "
        f"`regulations.md#{_anchor('R1 §4.2')}` for `R1 §4.2` (the heading in lower case, "
        "without § and dots). The Chinese is the original wording (zh-CN); the English is a "
        "rendering made for this project.",
        "",
        f"Source: {document['source']}",
        "",
    ]
    for regulation, body in document["regulations"].items():
        lines += [f"## {regulation}: {body['title']['zh']} — {body['title']['en']}", ""]
        for part in body["parts"]:
            part_id = f"{regulation} §{part['number']}"
            lines += [f"### {part_id}", "",
                      f"**{part['title']['zh']}** — *{part['title']['en']}*", ""]
            for item in part["clauses"]:
                if item["id"] != part_id:
                    lines += [f"#### {item['id']}", ""]
                lines += [item["zh"], "", item["en"], ""]
                if item.get("truncated"):
                    lines += ["*(原文至此中断。 The source breaks off here.)*", ""]
        if "closing" in body:
            lines += [f"### {regulation}: closing", "",
                      body["closing"]["zh"], "", body["closing"]["en"], ""]
    return "\n".join(lines)

