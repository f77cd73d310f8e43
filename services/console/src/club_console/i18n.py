"""Two languages, Simplified Chinese and English, through gettext catalogues.

The messages are English in the code and templates (`_("Check in")`); the Chinese is in
`locale/zh_CN/LC_MESSAGES/*.po`, one catalogue per area of the console, read with Babel when
the console starts (`make i18n` extracts new messages into them). The reader's language comes
from the `club_lang` cookie (the switch in the header) or else the browser's Accept-Language;
Chinese when neither says. Dates and times are in the club's time zone and the reader's
language (Babel's CLDR data).
"""

from __future__ import annotations

import gettext
import io
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from importlib import resources

from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from club_platform import regulations

LANGUAGES = ("zh_CN", "en")
DEFAULT = "zh_CN"
COOKIE = "club_lang"

_current: ContextVar[str] = ContextVar("club_console_language", default=DEFAULT)


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (labels of API values)."""
    return message


class Strict(gettext.NullTranslations):
    """Tests: a message missing from the catalogue shows as ⟦message⟧, so a walk over the
    pages finds it."""

    def gettext(self, message: str) -> str:
        return f"⟦{message}⟧"

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return f"⟦{singular if n == 1 else plural}⟧"


def load_catalogues(strict: bool = False) -> dict[str, gettext.NullTranslations]:
    """Every area's catalogue of a language merged into one translation."""
    loaded: dict[str, gettext.NullTranslations] = {"en": gettext.NullTranslations()}
    for language in LANGUAGES:
        if language == "en":
            continue
        folder = resources.files("club_console") / "locale" / language / "LC_MESSAGES"
        merged = None
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if not entry.name.endswith(".po"):
                continue
            with entry.open("rb") as f:
                catalogue = read_po(f, locale=language)
            buffer = io.BytesIO()
            write_mo(buffer, catalogue)  # fuzzy and empty entries are left out
            buffer.seek(0)
            translations = gettext.GNUTranslations(buffer)
            if merged is None:
                merged = translations
            else:
                merged.add_fallback(translations)
        if merged is None:
            merged = gettext.GNUTranslations()
        if strict:
            merged.add_fallback(Strict())
        loaded[language] = merged
    return loaded


class Languages:
    def __init__(self, *, strict: bool, zone: tzinfo) -> None:
        self.catalogues = load_catalogues(strict)
        self.zone = zone

    @staticmethod
    def choose(cookie: str | None, accept_language: str | None) -> str:
        if cookie in LANGUAGES:
            return cookie
        preferred = []
        for part in (accept_language or "").split(","):
            tag = part.split(";")[0].strip().replace("-", "_")
            if tag:
                preferred.append(tag)
        found = Locale.negotiate(preferred, ["zh_CN", "zh", "en"], sep="_")
        if found is None:
            return DEFAULT
        return "en" if found.language == "en" else "zh_CN"

    # --- what templates and pages call; the language is the request's (a context variable)

    @staticmethod
    def use(language: str) -> None:
        _current.set(language)

    @property
    def current(self) -> str:
        return _current.get()

    def gettext(self, message: str) -> str:
        return self.catalogues[_current.get()].gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalogues[_current.get()].ngettext(singular, plural, n)

    def when(self, value: str | datetime | None, form: str = "medium") -> str:
        """An instant from an API (RFC 3339) in the club's time and the reader's language."""
        if not value:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return dates.format_datetime(moment, form, tzinfo=self.zone, locale=_current.get())

    def time(self, value: str | datetime | None) -> str:
        if not value:
            return ""
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return dates.format_time(moment, "short", tzinfo=self.zone, locale=_current.get())

    def day(self, value: str | date | None, form: str = "full") -> str:
        if not value:
            return ""
        when = date.fromisoformat(value) if isinstance(value, str) else value
        return dates.format_date(when, form, locale=_current.get())

    def number(self, value: float | int | None, digits: int = 2) -> str:
        if value is None:
            return "—"
        return numbers.format_decimal(round(value, digits), locale=_current.get())

    def clause(self, cid: str) -> str:
        """A clause's text in the reader's language: the Chinese is the regulations' own
        wording, the English the rendering beside it (club_platform.regulations)."""
        try:
            return regulations.clause(cid, _current.get())
        except KeyError:
            return ""
