"""`make i18n`: the console's messages against its Chinese catalogues.

    uv run python services/console/scripts/i18n_check.py MESSAGES.pot [--language zh_CN]

MESSAGES.pot is what `pybabel extract -F services/console/babel.cfg -k N_` found in the code
and templates (the Makefile makes it). The catalogues are one .po file per area of the console
(locale/<language>/LC_MESSAGES/console.po, crm.po, people.po, …), merged when the console
starts (club_console.i18n), so a message needs a translation in one of them, not in each:
`pybabel update` would copy every message into every file, which is why it is not used.

Prints each message that no catalogue translates — missing from all of them, or present only
empty or fuzzy (the console would show it in English) — with where it is used, and exits 1 if
there is one. Nothing is written: a person adds each message to the area's file it belongs to.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

LOCALE = Path(__file__).resolve().parents[1] / "src" / "club_console" / "locale"


def key(message: Message) -> tuple[str | None, str]:
    """A message as gettext looks it up: its context and its (singular) id."""
    singular = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    return message.context, singular


def translated(message: Message) -> bool:
    strings = message.string if isinstance(message.string, (list, tuple)) else [message.string]
    return not message.fuzzy and all(strings)


def read(path: Path, language: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=language)


def check(template: Path, language: str) -> int:
    wanted = [m for m in read(template) if m.id]
    folder = LOCALE / language / "LC_MESSAGES"
    catalogues = sorted(folder.glob("*.po"))
    if not catalogues:
        print(f"[i18n] no catalogues in {folder}", file=sys.stderr)
        return 1
    held: dict[tuple[str | None, str], list[str]] = {}  # message → the files translating it
    untranslated: dict[tuple[str | None, str], list[str]] = {}  # … holding it empty or fuzzy
    for path in catalogues:
        for message in read(path, language):
            if message.id:
                (held if translated(message) else untranslated).setdefault(
                    key(message), []).append(path.name)
    missing = [m for m in wanted if key(m) not in held]
    names = ", ".join(p.name for p in catalogues)
    if not missing:
        print(f"[i18n] {language}: all {len(wanted)} messages of the console are translated "
              f"({names})")
        return 0
    print(f"[i18n] {language}: {len(missing)} of {len(wanted)} messages are translated in no "
          f"catalogue ({names}); add each to its area's file:\n")
    for message in missing:
        where = ", ".join(f"{file}:{line}" for file, line in message.locations[:3])
        more = f" (+{len(message.locations) - 3} more)" if len(message.locations) > 3 else ""
        files = untranslated.get(key(message))
        state = f"   [empty or fuzzy in {', '.join(files)}]" if files else ""
        context = f"[{message.context}] " if message.context else ""
        print(f"  {context}{key(message)[1]!r}{state}\n      used at {where}{more}")
    return 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("template", type=Path, help="the extracted messages (a .pot file)")
    parser.add_argument("--language", default="zh_CN")
    args = parser.parse_args()
    return check(args.template, args.language)


if __name__ == "__main__":
    sys.exit(main())
