"""MkDocs hook of the API reference site (``hooks:`` in mkdocs.yml).

The docstrings use Sphinx roles (:class:`Name`, :func:`name`, ...), which mkdocstrings leaves as text
before the code span; this drops the role so the page shows the name as code.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|mod|attr|data|exc|obj|const):(?=<code>)")


def on_page_content(html: str, **_: Any) -> str:
    """The rendered page without the roles' ``:kind:`` prefixes."""
    return _ROLE.sub("", html)
