"""Outside our remit: example messages about subjects the knowledge base deliberately does not answer.

A health charity's webcare is asked every day about diseases it does not cover, other charities' donations,
a sick dog, a parcel that never came. Those messages sit close to real articles in the encoder's space ("Is
dementie erfelijk?" beside "Is kanker altijd erfelijk?"), so the shape of the ranking alone cannot tell them from
a question the KB answers (docs/benchmarks.md, "Outside our remit"). Editors know these subjects and list them,
with a few example messages each, in `_outside.md` at the top of the articles folder:

    ## Andere ziekten
    - Hebben jullie informatie over ALS?
    - Is dementie erfelijk?

Each `##` heading names a subject, each bullet is an example message. The service embeds the examples once at
start-up, as queries, and the answerability gate (kb.answerable) reads how close a message comes to the nearest of
them (`outside_cosine`): one more feature of the gate, the list's seam into the suggestion path. When a message
then gets no match and is nearer to an example than to any article, the result also names that example's subject
(`SuggestResult.outside_subject`), so the agent sees why and which referral fits ("Andere ziekten dan kanker").
The file is optional: without it the gate reads that feature as average, i.e. as if it were not there. `kb lint`
checks it like an article.

    >>> examples, problems = parse_outside("## Dieren\\n- Kan mijn hond kanker krijgen?\\n", "_outside.md")
    >>> examples[0].subject, examples[0].text, examples[0].line, problems
    ('Dieren', 'Kan mijn hond kanker krijgen?', 2, [])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from markdown_it import MarkdownIt

from kb.errors import ConfigError, Problem, Severity
from kb.models import Embedder
from kb.normalize import Message

#: Where the list lives, relative to the articles folder (a name starting with `_` is never read as an article).
OUTSIDE_FILE = "_outside.md"
#: An example is a message, not an article: longer ones are refused.
MAX_EXAMPLE_CHARS = 400
MAX_EXAMPLES = 2000

_MD = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class OutsideExample:
    subject: str
    text: str
    line: int


def parse_outside(text: str, path: str) -> tuple[list[OutsideExample], list[Problem]]:
    """The examples of an outside list (`path` names it in problems), and what is wrong with it: a bullet before
    any `##` subject, an empty or overlong example, a repeated one (a warning), no example at all."""
    examples: list[OutsideExample] = []
    problems: list[Problem] = []
    subject: str | None = None
    seen: set[str] = set()
    tokens = _MD.parse(text)
    depth = 0  # inside a list item (nested lists read as one example each, with the item they belong to)
    for i, token in enumerate(tokens):
        line = token.map[0] + 1 if token.map else 0
        if token.type == "heading_open" and token.tag == "h2":
            subject = tokens[i + 1].content.strip()
        elif token.type == "list_item_open":
            depth += 1
        elif token.type == "list_item_close":
            depth -= 1
        elif token.type == "inline" and depth and tokens[i - 1].type == "paragraph_open":
            example = " ".join(token.content.split())
            if subject is None:
                problems.append(Problem(path, line, "an example before any '## subject' heading: say which "
                                                    "subject it is outside our remit under"))
            elif not example:
                problems.append(Problem(path, line, "an empty example"))
            elif len(example) > MAX_EXAMPLE_CHARS:
                problems.append(Problem(path, line, f"an example of {len(example)} characters (at most "
                                                    f"{MAX_EXAMPLE_CHARS}): write a message, not an article"))
            elif example.casefold() in seen:
                problems.append(Problem(path, line, f"'{example[:60]}' is listed twice", Severity.WARNING))
            else:
                seen.add(example.casefold())
                examples.append(OutsideExample(subject, example, line))
    if not examples and not any(p.is_error for p in problems):
        problems.append(Problem(path, 1, "no examples: list them as bullets under '## subject' headings, or "
                                         "delete the file"))
    if len(examples) > MAX_EXAMPLES:
        problems.append(Problem(path, examples[MAX_EXAMPLES].line, f"more than {MAX_EXAMPLES} examples"))
    return examples, problems


def outside_problems(articles_dir: Path) -> list[Problem]:
    """`kb lint`'s findings on the articles folder's outside list; none when there is no list."""
    return _read_list(articles_dir / OUTSIDE_FILE)[1]


def _read_list(path: Path) -> tuple[list[OutsideExample], list[Problem]]:
    """The list at `path` and its problems; nothing at all when there is no file."""
    if not path.exists() and not path.is_symlink():
        return [], []
    text, problem = _read(path)
    return ([], [problem]) if problem else parse_outside(text, str(path))


def _read(path: Path) -> tuple[str, Problem | None]:
    if path.is_symlink() or not path.is_file():
        return "", Problem(str(path), 0, "not a regular file (links are not followed)")
    try:
        return path.read_text(encoding="utf-8"), None
    except (OSError, UnicodeDecodeError) as e:
        return "", Problem(str(path), 0, f"cannot be read as UTF-8 text ({e})")


class OutsideRemit:
    """The embedded outside list: how close a message comes to its nearest example.

        >>> from kb.embedding import HashEmbedder
        >>> remit = OutsideRemit([OutsideExample("Dieren", "Kan mijn hond kanker krijgen?", 2)], HashEmbedder(16))
        >>> cosine, example = remit.nearest("Kan mijn hond kanker krijgen?")
        >>> round(cosine, 3), example.subject
        (1.0, 'Dieren')
    """

    def __init__(self, examples: list[OutsideExample], embedder: Embedder) -> None:
        if not examples:
            raise ConfigError("outside our remit: no examples to embed")
        self.examples = tuple(examples)
        self.embedder = embedder
        # embedded as the retriever embeds a message (its query text), so a message and an example compare alike
        self.vectors = np.asarray(embedder.embed([Message.of(e.text).query for e in examples], kind="query"))

    def nearest(self, message: str | Message) -> tuple[float, OutsideExample]:
        """The cosine of `message` to the nearest example, and that example. The message's vector is the one the
        retriever asked for (kb.embedding.RecentQueries remembers it): no second encoder pass."""
        vector = np.asarray(self.embedder.embed([Message.of(message).query], kind="query"))[0]
        cosines = self.vectors @ vector
        best = int(np.argmax(cosines))
        return float(cosines[best]), self.examples[best]

    def cosine(self, message: str | Message) -> float:
        return self.nearest(message)[0]

    def subject_for(self, message: str | Message, best_article: float | None) -> str | None:
        """The subject to tell the agent about a message that got no match: that of its nearest example, when that
        example is nearer than the best article (`best_article`, its cosine; None without candidates).

            >>> from kb.embedding import HashEmbedder
            >>> remit = OutsideRemit([OutsideExample("Dieren", "Kan mijn hond kanker krijgen?", 2)], HashEmbedder(16))
            >>> remit.subject_for("Kan mijn hond kanker krijgen?", 0.9), remit.subject_for("iets anders", 0.99)
            ('Dieren', None)
        """
        cosine, example = self.nearest(message)
        return example.subject if best_article is None or cosine >= best_article else None


def load_outside(articles_dir: Path, embedder: Embedder) -> OutsideRemit | None:
    """The articles folder's outside list, embedded; None without one. A list with an error stops start-up, the way
    a broken template does: `kb lint` names the file and line."""
    path = articles_dir / OUTSIDE_FILE
    if not path.exists() and not path.is_symlink():
        return None
    examples, problems = _read_list(path)
    errors = [p for p in problems if p.is_error]
    if errors:
        raise ConfigError(f"outside our remit: {errors[0]}" + (f" (and {len(errors) - 1} more)" if errors[1:]
                                                               else ""), path=str(path))
    return OutsideRemit(examples, embedder)
