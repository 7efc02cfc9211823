"""Each build collection's LlamaIndex docstore: which articles it holds, by content, so unchanged ones are skipped.

The docstore is a cache of the collection, never trusted over it. It is persisted per build collection under
`<data dir>/docstores/` together with a token that the indexer also writes into the collection's metadata at the
end of every run (and clears before the run's first write). When the file is missing or its token differs from
the collection's (another machine indexed a shared server, a run was killed, a fresh checkout), it is rebuilt
from the collection's article records: one vector-less point per article carries its `doc_hash`.

It also serves as a parse cache: a document's text is the parsed article as JSON, so a file whose bytes, path
and parser code are unchanged is not parsed again (parsing was most of an incremental run: 4 s of 6 at 1,000
articles).

    >>> state = BuildDocstore(settings, store, "kb_articles__x").load(metadata)  # doctest: +SKIP
    >>> state.docstore.get_all_document_hashes()  # doctest: +SKIP
    {'5f0c…': 'suiker-voedt-kanker', ...}
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kb.article
import kb.parsing
from kb.article import Article
from kb.config import Settings
from kb.errors import Problem, Severity
from kb.parsing import ParseResult, parse_bytes
from kb.store import Store

if TYPE_CHECKING:
    from indexer.pipeline import ArticleDocument

TOKEN_KEY = "docstore_token"
_FOLDER = "docstores"


def parser_fingerprint() -> str:
    """Changes whenever the code that turns a file into an `Article` changes: cached parses are then not reused,
    and every article's hash changes, so the next run re-chunks everything (re-embedding only new text)."""
    digest = hashlib.sha256()
    for module in (kb.parsing, kb.article):
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()[:16]


def doc_hash(content_hash: str, path: str, parser: str) -> str:
    """What the docstore compares for an article: its file's bytes, where it lives, and the parser."""
    return hashlib.sha256(f"{content_hash}\x1f{path}\x1f{parser}".encode()).hexdigest()[:32]


@dataclass
class DocstoreState:
    docstore: Any  # SimpleDocumentStore
    rebuilt: bool
    #: chunks whose article has no record (left by a run that was killed between the two writes)
    orphans: list[str] = field(default_factory=list)


class BuildDocstore:
    """The docstore file of one build collection, and how it is checked and rebuilt."""

    def __init__(self, settings: Settings, store: Store, collection: str) -> None:
        self.store = store
        self.collection = collection
        folder = settings.data_dir / _FOLDER
        self.path = folder / f"{collection}.json"
        self.token_path = folder / f"{collection}.token"

    def load(self, metadata: dict[str, Any]) -> DocstoreState:
        """The persisted docstore if it matches the collection's token, else one rebuilt from the collection."""
        docstore = self.load_if_valid(metadata)
        return DocstoreState(docstore, rebuilt=False) if docstore is not None else self.rebuild()

    def load_if_valid(self, metadata: dict[str, Any]) -> Any:
        """The persisted docstore if it matches the collection, else None (never rebuilt: for parsing only)."""
        from llama_index.core.storage.docstore import SimpleDocumentStore

        token = metadata.get(TOKEN_KEY)
        if token and self.path.exists() and self.token_path.exists() and self.token_path.read_text() == token:
            return SimpleDocumentStore.from_persist_path(str(self.path))
        return None

    def rebuild(self) -> DocstoreState:
        from llama_index.core.storage.docstore import SimpleDocumentStore

        from indexer.pipeline import ArticleDocument

        docstore = SimpleDocumentStore()
        records: dict[str, dict[str, Any]] = {}
        chunk_articles: dict[str, str] = {}
        for pid, payload in self.store.scroll_payloads(self.collection, ["kind", "article_id", "doc_hash", "article"]):
            if payload.get("kind") == "article":
                records[str(payload["article_id"])] = payload
            else:
                chunk_articles[pid] = str(payload.get("article_id"))
        docs = [ArticleDocument(id_=aid, text=json.dumps(p.get("article") or {}),  # type: ignore[call-arg]
                                metadata={"doc_hash": str(p.get("doc_hash") or ""), "path": ""})
                for aid, p in sorted(records.items())]
        docstore.add_documents(docs)
        docstore.set_document_hashes({d.id_: d.hash for d in docs})
        orphans = sorted(pid for pid, aid in chunk_articles.items() if aid not in records)
        return DocstoreState(docstore, rebuilt=True, orphans=orphans)

    def persist(self, docstore: Any) -> str:
        """Write the docstore and a new token (each atomically); the caller puts the token in the metadata."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        docstore.persist(str(tmp))
        os.replace(tmp, self.path)
        token = secrets.token_hex(8)
        tmp_token = self.token_path.with_suffix(".token.tmp")
        tmp_token.write_text(token)
        os.replace(tmp_token, self.token_path)
        return token

    def remove(self) -> None:
        for path in (self.path, self.token_path):
            path.unlink(missing_ok=True)


class ParseCache:
    """`parse_bytes`, answered from a docstore when it holds this very file (same bytes, path and parser code)."""

    def __init__(self, docstore: Any, parser: str) -> None:
        self.docstore = docstore
        self.parser = parser
        self.by_hash: dict[str, str] = docstore.get_all_document_hashes() if docstore is not None else {}
        self.warnings: dict[str, list[Problem]] = {}  # path -> the file's own parse warnings
        self.hashes: dict[str, str] = {}  # path -> doc hash
        self.reused = 0
        self.cached: set[str] = set()  # paths answered from the docstore

    def parse(self, raw: bytes, path: str) -> ParseResult:
        digest = doc_hash(hashlib.sha256(raw).hexdigest(), path, self.parser)
        self.hashes[path] = digest
        doc_id = self.by_hash.get(digest)
        doc = self.docstore.get_document(doc_id, raise_error=False) if doc_id else None
        if doc is not None and "warnings" in doc.metadata:
            problems = [Problem(path, line, message, Severity.WARNING) for line, message in doc.metadata["warnings"]]
            result = ParseResult(path, Article.model_validate_json(doc.text), problems)
            self.reused += 1
            self.cached.add(path)
        else:
            result = parse_bytes(raw, path)
        self.warnings[path] = [p for p in result.problems if not p.is_error]
        return result

    def hashes_by_id(self, articles: list[Article]) -> dict[str, str]:
        return {a.id: self.hashes[a.path] for a in articles}

    def document(self, article: Article) -> ArticleDocument:
        """The article as a document for the pipeline, carrying its parse warnings for the next cached parse.

        An article parsed from the docstore is unchanged there, so the pipeline skips it: its text is not needed."""
        from indexer.pipeline import ArticleDocument, article_document

        if article.path in self.cached:
            return ArticleDocument(id_=article.id, text="",  # type: ignore[call-arg]
                                   metadata={"doc_hash": self.hashes[article.path]})
        doc = article_document(article, self.hashes[article.path])
        doc.metadata["warnings"] = [[p.line, p.message] for p in self.warnings.get(article.path, [])]
        doc.excluded_embed_metadata_keys = doc.excluded_llm_metadata_keys = list(doc.metadata)
        return doc
