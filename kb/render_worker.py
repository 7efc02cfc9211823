"""The render process: where reply templates are compiled and rendered, so that the service can kill a render.

A template is editor-written code, and one call inside it can run for a long time without ever returning to
the sandbox's step counter (kb/template_sandbox.py). Python cannot stop a thread, so templates run here, in a
child process that `kb.render_pool.RenderPool` starts once and kills when a render passes its deadline.

The process reads one JSON request per line on stdin and answers one JSON line on stdout:

    {"op": "load", "templates": {name: source}, "refused": {name: reason}, "limits": {...}}  -> {"ok": true}
    {"op": "render", "name": "x.nl.j2", "contexts": [{...}, ...]}      -> {"ok": [text, ...]}
                                                                        or {"error": "syntax" | "render",
                                                                            "message": "...", "line": 3}

It never reads a file after start-up: the templates arrive as text (read once by the parent through
`TemplateFolderLoader`, so the same files are refused), its environment holds no secrets, and its address
space is capped (`MEMORY_BYTES`), so a template that escaped every other bound still cannot take the service
down. Run by `kb.render_pool` as `python -c BOOT ROOT`; not a command of its own.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from collections.abc import Callable
from typing import IO, Any

import jinja2
from jinja2.loaders import split_template_path

from kb.template_files import error_line
from kb.template_sandbox import BoundedSandbox, Limits, render_bounded

#: The render process's address space: far above what a bounded render needs (tens of MB), far below the host.
MEMORY_BYTES = 1024 * 1024 * 1024


class SnapshotLoader(jinja2.BaseLoader):
    """Templates from the text the parent read: `{% include %}` finds only those, and a refused file says why."""

    def __init__(self, templates: dict[str, str], refused: dict[str, str]) -> None:
        self.templates, self.refused = templates, refused

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        name = "/".join(split_template_path(template))  # refuses `..`
        if name in self.refused:
            raise jinja2.TemplateNotFound(template, self.refused[name])
        if name not in self.templates:
            raise jinja2.TemplateNotFound(template)
        return self.templates[name], name, lambda: True


def reply_environment(loader: jinja2.BaseLoader) -> BoundedSandbox:
    """The one environment reply templates run in: sandboxed and bounded, `.html.j2` autoescaped, an unknown
    variable an error."""
    return BoundedSandbox(
        loader=loader,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


def render(env: jinja2.Environment, name: str, contexts: list[dict[str, Any]], limits: Limits) -> dict[str, Any]:
    """Compile `name` and render it with each context in turn: the texts, or the first error."""
    try:
        template = env.get_template(name)
        return {"ok": [render_bounded(template, context, limits) for context in contexts]}
    except jinja2.TemplateSyntaxError as e:
        return {"error": "syntax", "message": e.message or str(e), "line": e.lineno or 1}
    except Exception as e:  # undefined variable, sandbox refusal, a bound, a missing include, MemoryError
        return {"error": "render", "message": str(e) or type(e).__name__, "line": error_line(e, name)}


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """Answer requests until stdin closes (the parent went away or closed the pool)."""
    env: jinja2.Environment | None = None
    limits = Limits()
    for line in requests:
        request = json.loads(line)
        if request["op"] == "load":
            env = reply_environment(SnapshotLoader(request["templates"], request["refused"]))
            limits = Limits(**request["limits"])
            answer: dict[str, Any] = {"ok": True}
        elif env is None:
            answer = {"error": "render", "message": "no templates loaded", "line": 1}
        else:
            answer = render(env, request["name"], request["contexts"], limits)
        answers.write(json.dumps(answer, ensure_ascii=False).encode("utf-8") + b"\n")
        answers.flush()


def main() -> None:
    # The protocol gets its own copy of stdout; anything printed by accident goes to stderr instead.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C in `kb serve`'s terminal is for the parent to handle
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    cap = MEMORY_BYTES if hard == resource.RLIM_INFINITY else min(hard, MEMORY_BYTES)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    serve(sys.stdin.buffer, answers)


#: What the parent runs (`python -c BOOT ROOT`): the worker from the same source tree as the parent.
BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from kb.render_worker import main; main()"
