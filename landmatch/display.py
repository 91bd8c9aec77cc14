"""User text as staff read it in running text. The bidirectional controls (U+202A–U+202E,
U+2066–U+2069, LRM, RLM, ALM) reorder what follows them: a name typed as
``报价单<U+202E>fdp.exe`` reads ``报价单exe.pdf``. They are taken out wherever text is shown —
every page's Jinja output (:func:`shown`, the templates' ``finalize``), the names of saved
files (``api.routes.workbench.common.attachment``), and the text scripts render from JSON,
tiles and page data (``LMF.text`` in web/static/app/format.js, the same class, checked by
tests/web/test_bidi_browser.py) — so that text reads in the order it was typed; what is
stored, and what the API, tiles and exports answer, is left as it was sent. A leaf module: it imports nothing of landmatch.

>>> shown("报价单\u202efdp.exe")
'报价单fdp.exe'
>>> shown(12.5), shown(None)
(12.5, None)
"""

from __future__ import annotations

import re
from typing import Any

from markupsafe import Markup

#: The bidirectional formatting characters, as a regular-expression class body.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")


def shown(value: Any) -> Any:
    """``value`` with the bidirectional controls taken out of its text (Markup stays Markup);
    anything but text as it is. The templates' ``finalize``: every ``{{ … }}`` goes through
    it."""
    if isinstance(value, str) and _BIDI.search(value):
        plain = _BIDI.sub("", value)
        return Markup(plain) if isinstance(value, Markup) else plain
    return value
