"""The one list of mail kinds, found in this package's modules.

Adding a kind is one module here (with `KINDS = (TheKind,)`) plus its templates: nothing
else lists kinds. The registry refuses two kinds of one name, names that cannot be template
file names, and languages staff cannot read, so such a mistake stops start-up (and the unit
tests) instead of a mail at delivery.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator
from typing import Any

from mailtriage.outgoing.mailkinds._base import MailKind

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")  # a template file name part; fits OutboxMail.kind


class UnknownKind(LookupError):
    """No registered kind has this name."""


class KindRegistry:
    def __init__(self, kinds: Iterable[type[MailKind[Any]]]) -> None:
        self._kinds: dict[str, MailKind[Any]] = {}
        for cls in kinds:
            name = getattr(cls, "name", None)
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise ValueError(f"{cls.__name__}: not a kind name: {name!r}")
            if name in self._kinds:
                raise ValueError(f"two mail kinds are called {name!r}")
            if cls.audience == "staff" and cls.forms != ("en",):
                raise ValueError(f"{name}: staff mail is written in English only")
            if cls.audience == "reporter" and not {"nl", "en"} <= set(cls.forms):
                raise ValueError(f"{name}: reporter mail needs Dutch and English templates")
            self._kinds[name] = cls()

    def get(self, name: str) -> MailKind[Any]:
        try:
            return self._kinds[name]
        except KeyError:
            raise UnknownKind(f"not a mail kind: {name!r}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __iter__(self) -> Iterator[MailKind[Any]]:
        return iter(self._kinds.values())

    def names(self, audience: str | None = None) -> tuple[str, ...]:
        return tuple(
            name for name, kind in self._kinds.items() if audience in (None, kind.audience)
        )


def discover(package: str = "mailtriage.outgoing.mailkinds") -> list[type[MailKind[Any]]]:
    """The `KINDS` of every public module in `package`, in module-name order."""
    root = importlib.import_module(package)
    found: list[type[MailKind[Any]]] = []
    for info in sorted(pkgutil.iter_modules(root.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue  # infrastructure, not kinds
        module = importlib.import_module(f"{package}.{info.name}")
        found.extend(getattr(module, "KINDS", ()))
    return found
