"""What a reply template may call: an allow-list of string methods and filters (kb/template_sandbox.py applies it).

One call is one step of the sandbox's budget, so a method whose single call is slow cannot be bounded by counting:
it is not offered. What is offered is what the shipped templates use and what an editor reasonably needs
(articles/_templates/README.md lists it for editors).

    >>> "upper" in STR_METHODS, "encode" in STR_METHODS, "random" in FILTERS
    (True, False, False)
"""

from __future__ import annotations

from typing import Any

#: The string methods a template may call. Left out on purpose: `encode` (codecs such as punycode are quadratic
#: in one call), `format_map` (a format without the width checks of `format`), `expandtabs`, `translate`,
#: `maketrans`, `zfill`, and every method no reply needs.
STR_METHODS = frozenset({
    "capitalize", "center", "count", "endswith", "find", "format", "isalnum", "isalpha", "isdigit", "islower",
    "isspace", "istitle", "isupper", "join", "ljust", "lower", "lstrip", "partition", "removeprefix",
    "removesuffix", "replace", "rfind", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
    "startswith", "strip", "title", "upper",
})
#: The reading methods of the context's dicts and lists; numbers and bytes offer none.
CONTAINER_METHODS = {dict: frozenset({"get", "items", "keys", "values"}), list: frozenset({"count", "index"}),
                     tuple: frozenset({"count", "index"})}
#: The filters a template may use: Jinja2's, less `random` (drafts are deterministic), `urlize`, `xmlattr`,
#: `tojson`, `pprint`, `filesizeformat`, `safe` and `forceescape` (markup and formats no reply needs).
FILTERS = frozenset({
    "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape", "first",
    "float", "format", "groupby", "indent", "int", "items", "join", "last", "length", "list", "lower", "map",
    "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "slice", "sort",
    "string", "striptags", "sum", "title", "trim", "truncate", "unique", "upper", "urlencode", "wordcount",
    "wordwrap",
})


def allowed_attribute(obj: Any, attr: str) -> bool:
    """Whether a template may read `attr` of `obj` (on top of the sandbox's own rules).

        >>> allowed_attribute("x", "upper"), allowed_attribute("x", "encode"), allowed_attribute(3, "to_bytes")
        (True, False, False)
    """
    if isinstance(obj, str):
        return attr in STR_METHODS
    if isinstance(obj, int | float | complex | bytes | bytearray):
        return False
    for kind, names in CONTAINER_METHODS.items():
        if type(obj) is kind:
            return attr in names
    return True
