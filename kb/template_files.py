"""Editors' template files, read safely: `TemplateFolderLoader` opens only regular files inside the templates
folder, never through a symbolic link, at most 64 KiB each; `error_line` finds the template line a render failed
on. Rendering itself is bounded by `kb.template_sandbox`.

    >>> env = jinja2.Environment(loader=TemplateFolderLoader(Path("articles/_templates")))  # doctest: +SKIP
    >>> env.get_template("../secrets.txt")  # doctest: +SKIP
    Traceback (most recent call last):
    jinja2.exceptions.TemplateNotFound: ../secrets.txt
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import jinja2
from jinja2.loaders import split_template_path

from kb.errors import Problem
from kb.files import read_inside

MAX_TEMPLATE_BYTES = 64 * 1024


class TemplateFolderLoader(jinja2.BaseLoader):
    """Loads `name` only as a regular file inside `folder`, never through a symbolic link, at most 64 KiB."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        path = str(self.folder.joinpath(*split_template_path(template)))
        return self.source(template), path, lambda: True  # compiled once (BoundedSandbox sets auto_reload off)

    def source(self, template: str) -> str:
        """The text of `template`; TemplateNotFound (with the reason) for anything but a regular file inside."""
        path = self.folder.joinpath(*split_template_path(template))  # refuses `..`
        if not os.path.lexists(path):
            raise jinja2.TemplateNotFound(template)
        raw = read_inside(path, self.folder, shown=template, max_bytes=MAX_TEMPLATE_BYTES)
        if isinstance(raw, Problem):
            raise jinja2.TemplateNotFound(template, f"template '{template}' {raw.message}")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise jinja2.TemplateNotFound(template, f"template '{template}' is not valid UTF-8") from e


def error_line(error: BaseException, name: str) -> int:
    """The template line a render error happened on: the deepest traceback frame compiled from `name`."""
    tb, line = error.__traceback__, 1
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(name):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
