"""The Jinja2 environment shared by the customer page and the back-office UI.

Templates write English in `{% trans %}` blocks and `_()`, and the i18n extension says it in
the page's language (its context's `language`) through the one catalogue: Polish unless the
page says otherwise.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context

from cesja.errors import without_paths
from cesja.web.catalogue import translations

_ENVIRONMENT = Environment(
    loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
)
# A block's lines are one message, its spaces as a reader sees them.
_ENVIRONMENT.policies["ext.i18n.trimmed"] = True
TEMPLATES = Jinja2Templates(env=_ENVIRONMENT)


@pass_context
def _gettext(context: Context, message: str) -> str:
    return translations(context.get("language")).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return translations(context.get("language")).ngettext(singular, plural, n)


TEMPLATES.env.install_gettext_callables(  # type: ignore[attr-defined]
    _gettext, _ngettext, newstyle=True
)


def masked_pesel(pesel: str) -> str:
    """A PESEL as lists show it: the date of birth, the rest hidden (850101*****). The whole
    number is on the case's page, where looking at it is recorded."""
    return pesel[:6] + "*" * max(len(pesel) - 6, 0)


TEMPLATES.env.filters["without_paths"] = without_paths
TEMPLATES.env.filters["masked_pesel"] = masked_pesel
