"""The wording of everything mailtriage sends: templates in the reporter's language.

The text of every mail lives in `templates/{kind}.{lang}.txt` (Jinja2), so the policy's
promises can be reworded without touching code and an installation can bring its own copy.
`Renderer` picks the reporter's language, falls back to English when a kind has no file in that
language, and writes one bilingual mail (Dutch first) when the language is unsure. Undefined
variables are errors, never silently empty promises.

The rendered subject and body are built into a safe message by `compose`; report text shown
to staff is masked by `masking` (the templates' `|mask` filter).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
)

from mailtriage.datafiles import data_dir
from mailtriage.outgoing.compose import MAX_SUBJECT, clean_header_text
from mailtriage.outgoing.dates import format_date, format_moment
from mailtriage.outgoing.masking import mask_personal

__all__ = [
    "BILINGUAL_SEPARATOR",
    "RenderError",
    "RenderedMail",
    "Renderer",
    "format_date",
    "packaged_templates_dir",
]

Language = Literal["nl", "en", "unsure"]
TemplateLanguage = Literal["nl", "en"]

FALLBACK_LANGUAGE: TemplateLanguage = "en"
BILINGUAL_SEPARATOR = "-" * 30 + " English " + "-" * 30
BILINGUAL_HEADNOTE = "(English version below)"


class RenderError(Exception):
    """A template is missing or malformed, or needs a variable the caller did not give."""


@dataclass(frozen=True)
class RenderedMail:
    subject: str  # one line, control characters removed
    body: str  # ends with one newline


# --------------------------------------------------------------------------- templates

_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TEMPLATE_FILE = re.compile(r"([a-z][a-z0-9_]{0,63})\.(nl|en|unsure)\.txt")
_LEADING_TAG = re.compile(r"\s*(\[[^\[\]]{1,100}\])\s*")


def packaged_templates_dir() -> Path:
    """Where the shipped templates are: inside the installed package, else in the source tree."""
    found = data_dir("templates")
    if found is None:
        raise RenderError("the templates folder is missing from this installation")
    return found


class _SplitLoader(BaseLoader):
    """Serves `NAME#subject` and `NAME#body` out of the one template file `NAME`.

    Splitting the source, not the rendered text, keeps the split exact whatever a variable
    holds: a subject variable with blank lines in it cannot move the start of the body.
    """

    def __init__(self, inner: BaseLoader) -> None:
        self._inner = inner

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        name, sep, part = template.rpartition("#")
        if not sep or part not in ("subject", "body"):
            raise TemplateNotFound(template)
        source, filename, uptodate = self._inner.get_source(environment, name)
        lines = source.split("\n", 2)
        first = lines[0].removeprefix("\ufeff").rstrip("\r")
        if first[:8].lower() != "subject:" or len(lines) < 2 or lines[1].strip():
            raise TemplateSyntaxError(
                "a template starts with a 'Subject: ...' line followed by one blank line",
                1,
                name,
                filename,
            )
        if part == "subject":
            return first[8:].strip(), filename, uptodate
        # Two comments stand in for the subject line and the blank line (trim_blocks eats
        # their newlines), so line numbers in Jinja's errors are the file's line numbers.
        body = lines[2] if len(lines) > 2 else ""
        return "{# subject #}\n{# blank #}\n" + body, filename, uptodate

    def list_templates(self) -> list[str]:
        return self._inner.list_templates()


class Renderer:
    """Renders `templates/{kind}.{lang}.txt` into a subject and a plain-text body.

    `template_dir` None means the packaged templates. A custom folder overrides file by file:
    a kind/language it lacks comes from the packaged templates, so an installation can reword
    the acknowledgement without copying the staff notifications. For each kind the reporter's
    language wins over the folder: a custom English file never replaces a packaged Dutch one.
    """

    def __init__(self, template_dir: Path | None = None) -> None:
        search: list[Path] = []
        if template_dir is not None:
            if not Path(template_dir).is_dir():
                raise RenderError(f"template folder not found: {template_dir}")
            search.append(Path(template_dir))
        try:
            search.append(packaged_templates_dir())
        except RenderError:
            if not search:
                raise
        self.search_path: tuple[Path, ...] = tuple(search)
        self._loader = _SplitLoader(FileSystemLoader([str(path) for path in search]))
        # One environment per language, so `|date` writes dates in the language of the file
        # being rendered, also when a Dutch request fell back to an English file.
        # A kind's own bilingual file (`.unsure.txt`) writes its dates in English unless it
        # asks for `|date("nl")`.
        self._environments: dict[str, Environment] = {
            language: self._environment(language) for language in ("nl", "en")
        }
        self._environments["unsure"] = self._environment("en")

    def _environment(self, language: TemplateLanguage) -> Environment:
        env = Environment(
            loader=self._loader,
            undefined=StrictUndefined,
            autoescape=False,  # plain-text mail: HTML escaping would mangle "&" and "<id>"
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )

        def date_filter(value: dt.date, override: TemplateLanguage | None = None) -> str:
            return format_date(value, override or language)

        def moment_filter(value: dt.datetime, override: TemplateLanguage | None = None) -> str:
            return format_moment(value, override or language)

        env.filters["date"] = date_filter
        env.filters["moment"] = moment_filter
        env.filters["mask"] = _mask_filter
        return env

    def render(self, kind: str, language: Language, context: Mapping[str, object]) -> RenderedMail:
        """Render one mail. For "unsure": one bilingual mail, Dutch first, then English."""
        if not _KIND.fullmatch(kind):
            raise RenderError(f"not a template kind: {kind!r}")
        if language == "unsure":
            own = self._render_bilingual_file(kind, context)
            if own is not None:
                return own
            nl_file, dutch = self._render_file(kind, "nl", context)
            en_file, english = self._render_file(kind, "en", context)
            if nl_file == en_file:
                return english  # only English exists: sending it twice helps nobody
            return RenderedMail(
                subject=_combine_subjects(dutch.subject, english.subject),
                body=(
                    f"{BILINGUAL_HEADNOTE}\n\n{dutch.body.rstrip()}\n\n"
                    f"{BILINGUAL_SEPARATOR}\n\n{english.body}"
                ),
            )
        if language not in ("nl", "en"):
            raise RenderError(f"not a language: {language!r}")
        return self._render_file(kind, language, context)[1]

    def _render_bilingual_file(
        self, kind: str, context: Mapping[str, object]
    ) -> RenderedMail | None:
        """`{kind}.unsure.txt`, when the kind has one: a bilingual mail written as one, for
        mail carrying a person's words, which must appear once and not in each half."""
        name = f"{kind}.unsure.txt"
        env = self._environments["unsure"]
        try:
            body_template = env.get_template(name + "#body")
            subject_template = env.get_template(name + "#subject")
        except TemplateNotFound:
            return None
        except TemplateError as exc:
            raise RenderError(f"{name}: {exc}") from exc
        try:
            subject = subject_template.render(dict(context))
            body = body_template.render(dict(context))
        except (TemplateError, TypeError, ValueError) as exc:
            raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc
        return RenderedMail(subject=clean_header_text(subject, MAX_SUBJECT), body=_tidy_body(body))

    def _render_file(
        self, kind: str, language: TemplateLanguage, context: Mapping[str, object]
    ) -> tuple[str, RenderedMail]:
        for candidate in dict.fromkeys((language, FALLBACK_LANGUAGE)):
            name = f"{kind}.{candidate}.txt"
            env = self._environments[candidate]
            try:
                body_template = env.get_template(name + "#body")
            except TemplateNotFound:
                continue
            except TemplateError as exc:
                raise RenderError(f"{name}: {exc}") from exc
            values = dict(context)
            try:
                subject = env.get_template(name + "#subject").render(values)
                body = body_template.render(values)
            except (TemplateError, TypeError, ValueError) as exc:
                # Messages name variables and types, never their values (no report text in logs).
                raise RenderError(f"{name}: {type(exc).__name__}: {exc}") from exc
            return name, RenderedMail(
                subject=clean_header_text(subject, MAX_SUBJECT), body=_tidy_body(body)
            )
        raise RenderError(f"no template {kind!r} in {language!r} or {FALLBACK_LANGUAGE!r}")

    def check(self) -> list[str]:
        """Compile every template file on the search path; return their names.

        For start-up and `mailtriage check`: a broken custom template should stop the daemon
        before the first report arrives, not quarantine that report.
        """
        names = sorted(
            name for name in set(self._loader.list_templates()) if _TEMPLATE_FILE.fullmatch(name)
        )
        for name in names:
            env = self._environments[name.rsplit(".", 2)[1]]
            try:
                env.get_template(name + "#subject")
                env.get_template(name + "#body")
            except TemplateError as exc:
                raise RenderError(f"{name}: {exc}") from exc
        return names


def _combine_subjects(dutch: str, english: str) -> str:
    if dutch == english:
        return dutch
    nl_tag, en_tag = _LEADING_TAG.match(dutch), _LEADING_TAG.match(english)
    if nl_tag and en_tag and nl_tag.group(1).casefold() == en_tag.group(1).casefold():
        english = english[en_tag.end() :]  # the tag once: "[REF] Ontvangen / Received"
    return clean_header_text(f"{dutch} / {english}", MAX_SUBJECT)


def _tidy_body(text: str) -> str:
    # Trailing blanks go, except in the RFC 3676 signature delimiter "-- ", which mail
    # clients need verbatim to recognise (and fold away) our footer.
    lines = [
        "-- " if line == "-- " else line.rstrip() for line in text.replace("\r\n", "\n").split("\n")
    ]
    return "\n".join(lines).strip("\n") + "\n"


def _mask_filter(value: object) -> str:
    return mask_personal(str(value), address=None, name=None)
