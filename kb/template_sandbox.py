"""The reply templates' Jinja2 environment: sandboxed, reading only regular files in `_templates/`, and every
render bounded in work, size and time.

Templates are written by editors, so a template is untrusted code. Jinja2's `ImmutableSandboxedEnvironment`
already refuses attribute escapes and mutation; this adds what it leaves open:

- **Files.** Read through `kb.template_files.TemplateFolderLoader`: only regular files inside the templates
  folder, never through a symbolic link (`{% include "env.txt" %}` with `env.txt -> /proc/self/environ` is
  refused), at most 64 KiB.
- **Work.** Each render gets a `Budget` of `Limits.steps`: every loop iteration, call, filter, include and
  intercepted operator (`+ * ** %`) spends one step. Loops are counted by rewriting the parsed template (the
  iterable of every `{% for %}` passes through a counting filter); recursive loops are refused. Counting is
  deterministic: the same template and data always stop at the same place, on any machine.
- **Size.** No value made while rendering (string, list, dict, however nested) may exceed `Limits.chars`,
  checked before the operations that multiply (`'x' * n`, `join`, `replace`, padding and format widths) and
  after every other; every character written (top level, macros, `{% set %}` blocks) counts towards
  `Limits.output`.
- **Calls.** Only an allow-list of string methods and filters (kb/template_calls.py) may be called: what
  the shipped templates use and what an editor reasonably needs. One call is one step, so a method whose
  single call is slow (`'…'.encode('punycode')` is quadratic: 19 s for 12,000 characters) is not offered at
  all; numbers and bytes have no methods for templates, dicts and lists only their reading ones.
- **Time.** A deadline of `Limits.seconds` of the rendering thread's CPU time is checked on every step (CPU,
  so that a render starved of a core by a loaded machine is not failed). It cannot stop one call that never
  returns: the hard limit is the render process, killed at its wall-clock deadline (kb/render_pool.py).

Exceeding any bound raises `RenderLimit` (a `jinja2.TemplateRuntimeError`), which the drafter reports as the
template's problem.

    >>> env = BoundedSandbox()
    >>> render_bounded(env.from_string("{% for i in range(10**6) %}{% endfor %}"), {})
    Traceback (most recent call last):
    kb.template_sandbox.RenderLimit: calling _bounded_range(): the number 1000000 is over the limit of 10000
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg, pass_context
from jinja2.visitor import NodeTransformer

from kb.template_calls import FILTERS, allowed_attribute


@dataclass(frozen=True)
class Limits:
    """Bounds of one render. The shipped templates use under 50 steps and 2,000 characters."""

    steps: int = 10_000
    chars: int = 50_000  # any single value
    output: int = 50_000  # everything written
    width: int = 10_000  # numbers given to filters and methods (padding, widths, counts)
    seconds: float = 1.0


LIMITS = Limits()


class RenderLimit(jinja2.TemplateRuntimeError):
    """A render went over one of its `Limits`."""


class Budget:
    """What one render may still spend; lives in a context variable for the duration of `render_bounded`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self.written = 0
        # CPU time of the rendering thread, not the wall clock: a render waiting for a core on a loaded machine
        # (a surge, a re-index beside it) has done no work and must not fail; a busy loop is stopped all the same.
        self.deadline = time.thread_time() + limits.seconds

    def step(self, n: int = 1) -> None:
        self.steps += n
        if self.steps > self.limits.steps:
            raise RenderLimit(f"the template does more than {self.limits.steps} steps (loop iterations, calls, "
                              "filters)")
        if time.thread_time() > self.deadline:
            raise RenderLimit(f"the template took more than {self.limits.seconds:g} s of CPU to render")

    def write(self, chars: int) -> None:
        self.written += chars
        if self.written > self.limits.output:
            raise RenderLimit(f"the template writes more than {self.limits.output} characters")


_budget: ContextVar[Budget | None] = ContextVar("kb_template_budget", default=None)


def _current() -> Budget:
    budget = _budget.get()
    if budget is None:  # a render that did not go through render_bounded has no bounds: refuse it
        raise RenderLimit("reply templates are rendered only through kb.template_sandbox.render_bounded")
    return budget


def render_bounded(template: jinja2.Template, context: dict[str, Any], limits: Limits = LIMITS) -> str:
    """Render `template` within `limits`; raises RenderLimit when it goes over one."""
    token = _budget.set(Budget(limits))
    try:
        return template.render(context)
    finally:
        _budget.reset(token)


# --- sizes ---------------------------------------------------------------------------------------------------


def _size(value: Any, limit: int) -> int:
    """Characters and items in `value`, nested containers included (shared ones counted each time, as `str()`
    would write them); stops counting once over `limit`."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 3  # about its decimal digits
    if not isinstance(value, list | tuple | set | frozenset | dict):
        return 1
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        total += 1
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
        elif isinstance(item, str | bytes):
            total += len(item)
    return total


def _check_size(value: Any, what: str) -> Any:
    limit = _current().limits.chars
    if _size(value, limit) > limit:
        raise RenderLimit(f"{what} makes a value over {limit} characters or items")
    return value


def _check_expected(size: int, what: str) -> None:
    limit = _current().limits.chars
    if size > limit:
        raise RenderLimit(f"{what} would make a value of about {size} characters, over {limit}")


def _check_numbers(args: Iterable[Any], what: str) -> None:
    width = _current().limits.width
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool) and abs(arg) > width:
            raise RenderLimit(f"{what}: the number {arg} is over the limit of {width}")


_PRINTF_WIDTH = re.compile(r"%[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_format_string(fmt: str, what: str) -> None:
    """Widths and precisions in a format string are bounded too: `'{:>999999999}'.format(1)`."""
    width = _current().limits.width
    specs: list[str] = []
    try:
        for _, _, spec, _ in string.Formatter().parse(fmt):
            if spec:
                if "{" in spec:
                    raise RenderLimit(f"{what}: nested format fields are not allowed in templates")
                specs.append(spec)
    except ValueError:
        pass  # not a valid str.format string: the call itself will say so
    for match in _PRINTF_WIDTH.finditer(fmt):
        specs.extend(g for g in match.groups() if g)
    for spec in specs:
        if "*" in spec or any(int(n) > width for n in re.findall(r"\d+", spec)):
            raise RenderLimit(f"{what}: a width or precision over {width} (or '*') in a format string")


def _expected_size(name: str, subject: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int | None:
    """The size of the result of the few operations that multiply their input, before they run."""
    if not isinstance(subject, str):
        return None
    if name == "replace" and args:
        old, new = str(args[0]), str(args[1]) if len(args) > 1 else ""
        count = subject.count(old) if old else len(subject) + 1
        return len(subject) + count * len(new)
    if name == "expandtabs":
        tab = args[0] if args and isinstance(args[0], int) else 8
        return len(subject) + subject.count("\t") * max(tab, 0)
    if name == "indent":
        width = kwargs.get("width", args[0] if args else 4)
        per_line = len(width) if isinstance(width, str) else int(width)
        return len(subject) + (subject.count("\n") + 1) * max(per_line, 0)
    return None


# --- the environment -----------------------------------------------------------------------------------------


def _bounded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """`func` (a Jinja2 filter) behind the step, number and size checks. The wrapper takes the context, which
    also keeps Jinja2 from running the filter at compile time (outside any budget)."""
    pass_arg = _PassArg.from_obj(func)

    @pass_context
    @functools.wraps(func)
    def bounded(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        _current().step()
        what = f"the filter '{name}'"
        _check_numbers([*args, *kwargs.values()], what)
        if name == "join":
            value = list(value)
            sep = str(args[0]) if args else str(kwargs.get("d", ""))
            _check_expected(len(sep) * len(value) + sum(_size(v, 10**9) for v in value), what)
        elif name == "format" and isinstance(value, str):
            _check_format_string(value, what)
        expected = _expected_size(name, value, args, kwargs)
        if expected is not None:
            _check_expected(expected, what)
        if pass_arg is _PassArg.context:
            args = (context, value, *args)
        elif pass_arg is _PassArg.eval_context:
            args = (context.eval_ctx, value, *args)
        elif pass_arg is _PassArg.environment:
            args = (context.environment, value, *args)
        else:
            args = (value, *args)
        return _check_size(func(*args, **kwargs), what)

    bounded.jinja_pass_arg = _PassArg.context  # type: ignore[attr-defined]  # functools.wraps copied the original's
    return bounded


@pass_context
def _each(context: Any, iterable: Any) -> Iterator[Any]:
    """What every `{% for %}` iterates over: the same items, one step each."""
    budget = _current()
    for item in iterable:
        budget.step()
        yield item


@pass_context
def _emit(context: Any, value: Any) -> Any:
    """What every `{{ … }}` writes passes here: counted towards the output bound."""
    budget = _current()
    limit = budget.limits.chars
    if _size(value, limit) > limit:  # before str(): a deeply shared list would be written exponentially large
        raise RenderLimit(f"the template writes a value over {limit} characters or items")
    budget.write(len(str(value)) if not isinstance(value, str) else len(value))
    return value


@pass_context
def _emit_literal(context: Any, chars: int) -> str:
    """The template's own text in one output statement: counted too (a loop repeats it)."""
    _current().write(chars)
    return ""


@pass_context
def _sized(context: Any, value: Any) -> Any:
    """A list, dict, tuple or `~` concatenation just made: bounded like every other value."""
    _current().step()
    return _check_size(value, "the template")


@pass_context
def _step(context: Any, value: Any) -> Any:
    _current().step()
    return value


def _bounded_range(*args: int) -> range:
    _check_numbers(args, "range()")
    return range(*args)


_INTERNAL = {"kb_each": _each, "kb_emit": _emit, "kb_emit_literal": _emit_literal, "kb_sized": _sized,
             "kb_step": _step}


def _wrap(node: Any, name: str) -> nodes.Filter:
    return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)


class _Instrument(NodeTransformer):
    """Rewrites a parsed template so that loops, output and new containers pass through the budget."""

    def visit_For(self, node: nodes.For) -> nodes.For:
        if node.recursive:
            raise jinja2.TemplateSyntaxError("recursive loops are not allowed in reply templates", node.lineno)
        self.generic_visit(node)
        node.iter = _wrap(node.iter, "kb_each")
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Output:
        self.generic_visit(node)
        literal = sum(len(child.data) for child in node.nodes if isinstance(child, nodes.TemplateData))
        children: list[nodes.Expr] = [child if isinstance(child, nodes.TemplateData) else _wrap(child, "kb_emit")
                                      for child in node.nodes]
        if literal:
            children.insert(0, _wrap(nodes.Const(literal, lineno=node.lineno), "kb_emit_literal"))
        node.nodes = children
        return node

    def visit_Include(self, node: nodes.Include) -> nodes.Include:
        self.generic_visit(node)
        node.template = _wrap(node.template, "kb_step")
        return node

    def _sized(self, node: nodes.Expr) -> nodes.Expr:
        self.generic_visit(node)
        return _wrap(node, "kb_sized")

    visit_Concat = visit_List = visit_Dict = _sized

    def visit_Tuple(self, node: nodes.Tuple) -> nodes.Expr:
        if node.ctx != "load":  # an assignment target (`{% for a, b in … %}`), not a value
            self.generic_visit(node)
            return node
        return self._sized(node)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with every render bounded (see the module docstring)."""

    intercepted_binops = frozenset({"+", "*", "**", "%", "//"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_reload", False)  # compiled once: a file changed later is not used unchecked
        super().__init__(*args, **kwargs)
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items() if name in FILTERS}
        self.filters.update(_INTERNAL)
        self.globals.pop("lipsum", None)  # generates text on demand: nothing a reply needs
        self.globals["range"] = _bounded_range

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        instrumented = _Instrument().visit(tree)
        instrumented.set_environment(self)
        return instrumented  # type: ignore[no-any-return]

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        return allowed_attribute(obj, attr) and super().is_safe_attribute(obj, attr, value)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _current().step()
        what = f"the operator '{operator}'"
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(n, int) and isinstance(seq, str | list | tuple):
                    _check_expected(_size(seq, 10**9) * max(n, 0), what)
        elif operator == "**" and isinstance(left, int) and isinstance(right, int):
            _check_expected(abs(left).bit_length() * max(right, 0) // 3, what)
        elif operator == "%" and isinstance(left, str):
            _check_format_string(left, what)
        elif operator == "+" and isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
            _check_expected(_size(left, 10**9) + _size(right, 10**9), what)
        return _check_size(super().call_binop(context, operator, left, right), what)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.step()
        name = getattr(__obj, "__name__", "a function")
        what = f"calling {name}()"
        _check_numbers([*args, *kwargs.values()], what)
        subject = getattr(__obj, "__self__", None)
        if name == "join" and isinstance(subject, str) and args:
            items = list(args[0])
            _check_expected(len(subject) * len(items) + sum(_size(v, 10**9) for v in items), what)
            args = (items, *args[1:])
        expected = _expected_size(name, subject, args, kwargs)
        if expected is not None:
            _check_expected(expected, what)
        return _check_size(super().call(__context, __obj, *args, **kwargs), what)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        if getattr(value, "__name__", None) == "format_map":
            return None  # then refused by is_safe_attribute, like every method off the allow-list
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt: str = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            _check_format_string(fmt, "str.format")
            return wrapped(*args, **kwargs)

        return functools.update_wrapper(checked, wrapped)
