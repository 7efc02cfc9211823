"""A build's LlamaIndex document store *is* its article records (indexer/records.py): one source of truth for
what is indexed.

`RecordDocstore` is LlamaIndex's `BaseDocumentStore` over those records, so the ingestion pipeline's
de-duplication (`DocstoreStrategy.UPSERTS_AND_DELETE`) compares against what the collection holds and nothing is
kept beside it: another machine indexing a shared server, a fresh checkout and a killed run all see the same truth.

- It reads the records once, when a run starts (`RecordDocstore.load`: one scroll of the records).
- Its writes are staged, and `commit()` upserts the new records after the pipeline has written their chunks; a
  document it deletes is only forgotten here, because its record goes with the article's other points when the
  vector store deletes them (`KbVectorStore.finish`, after the new chunks are in), so an article updated in place
  never vanishes from the served index for a moment.
- A run that dies after its first write leaves the collection marked `writing`; the next run then deletes the
  chunks no record names (`indexer.records.unlisted_chunks`) first.
- The same records are the parse cache (`indexer.records.ParseCache`): a file whose doc_hash a record carries is
  not parsed again (parsing was most of an incremental run: 4 s of 6 at 1,000 articles).

Imported on first use only (it imports LlamaIndex), as indexer/pipeline.py is.

    >>> docstore = RecordDocstore.load(store, "kb_articles__x")  # doctest: +SKIP
    >>> docstore.get_all_document_hashes()  # doctest: +SKIP
    {'5f0c…': 'suiker-voedt-kanker', ...}
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from llama_index.core.schema import BaseNode
from llama_index.core.storage.docstore.types import BaseDocumentStore, RefDocInfo

from indexer.records import Record, load_records
from kb.store import Store


@dataclass
class RecordDocstore(BaseDocumentStore):
    """LlamaIndex's document store over one build collection's article records (see the module docstring).

    Documents are `ArticleDocument`s: id = article id, text = the article as JSON, `doc_hash` in the metadata."""

    store: Store
    collection: str
    #: article id -> its record as the collection held it when the run started
    records: dict[str, Record] = field(default_factory=dict)
    _hashes: dict[str, str] = field(default_factory=dict)  # article id -> doc hash, as staged
    _added: dict[str, BaseNode] = field(default_factory=dict)  # staged documents, written by commit()

    def __post_init__(self) -> None:
        # A record from before records listed their chunks and parse warnings answers a hash no file has, so the
        # next run writes it once more, complete (its chunks are unchanged: nothing is embedded).
        self._hashes = {aid: r.doc_hash if r.complete else f"{r.doc_hash}:incomplete"
                        for aid, r in self.records.items()}

    @classmethod
    def load(cls, store: Store, collection: str) -> RecordDocstore:
        """The records of `collection`, read in one scroll."""
        return cls(store, collection, load_records(store, collection))

    def commit(self, chunk_ids: Mapping[str, Sequence[str]]) -> int:
        """Upsert the records of the documents added in this run (their chunks by article id in `chunk_ids`);
        returns how many. Call it after the vector store has written those chunks.

        `records` stays as the run found it: the vector store still asks which chunks a replaced article had."""
        records = [Record(aid, self._hashes[aid], json.loads(doc.get_content()), list(chunk_ids[aid]),
                          list(doc.metadata.get("warnings") or [])) for aid, doc in sorted(self._added.items())]
        self.store.upsert(self.collection, [r.point() for r in records], batch_size=1024)
        return len(records)

    def previous_chunk_ids(self, article_id: str) -> list[str] | None:
        """The chunks the collection's record of `article_id` listed when the run started (None: no record, or a
        legacy one that lists none)."""
        record = self.records.get(article_id)
        return None if record is None else record.chunk_ids

    # ----- LlamaIndex's BaseDocumentStore -----
    @property
    def docs(self) -> dict[str, BaseNode]:
        return {aid: doc for aid in self._hashes if (doc := self.get_document(aid, raise_error=False)) is not None}

    def add_documents(self, docs: Sequence[BaseNode], allow_update: bool = True, batch_size: int | None = None,
                      store_text: bool = True) -> None:
        for doc in docs:
            if not allow_update and doc.node_id in self._hashes:
                raise ValueError(f"article {doc.node_id!r} is already in {self.collection}")
            self._added[doc.node_id] = doc
            self._hashes[doc.node_id] = doc.hash

    def get_document(self, doc_id: str, raise_error: bool = True) -> BaseNode | None:
        from indexer.pipeline import ArticleDocument

        if doc_id in self._added:
            return self._added[doc_id]
        record = self.records.get(doc_id) if doc_id in self._hashes else None
        if record is None:
            if raise_error:
                raise ValueError(f"article {doc_id!r} is not in {self.collection}")
            return None
        return ArticleDocument(id_=doc_id, text=json.dumps(record.article),  # type: ignore[call-arg]
                               metadata={"doc_hash": record.doc_hash, "warnings": record.warnings or []})

    def delete_document(self, doc_id: str, raise_error: bool = True) -> None:
        if doc_id not in self._hashes and raise_error:
            raise ValueError(f"article {doc_id!r} is not in {self.collection}")
        self._hashes.pop(doc_id, None)
        self._added.pop(doc_id, None)

    def document_exists(self, doc_id: str) -> bool:
        return doc_id in self._hashes

    def set_document_hash(self, doc_id: str, doc_hash: str) -> None:
        self._hashes[doc_id] = doc_hash

    def set_document_hashes(self, doc_hashes: dict[str, str]) -> None:
        self._hashes.update(doc_hashes)

    def get_document_hash(self, doc_id: str) -> str | None:
        return self._hashes.get(doc_id)

    def get_all_document_hashes(self) -> dict[str, str]:
        """doc hash -> article id (LlamaIndex's direction)."""
        return {h: aid for aid, h in self._hashes.items()}

    def get_all_ref_doc_info(self) -> dict[str, RefDocInfo] | None:
        return {aid: info for aid in self._hashes if (info := self.get_ref_doc_info(aid)) is not None}

    def get_ref_doc_info(self, ref_doc_id: str) -> RefDocInfo | None:
        """An article's chunks as the collection's record lists them (none yet for one added in this run)."""
        record = self.records.get(ref_doc_id) if ref_doc_id in self._hashes else None
        return RefDocInfo(node_ids=list(record.chunk_ids or [])) if record else None

    def delete_ref_doc(self, ref_doc_id: str, raise_error: bool = True) -> None:
        self.delete_document(ref_doc_id, raise_error=raise_error)

    # The pipeline runs synchronously; the async forms answer the same.
    async def async_add_documents(self, docs: Sequence[BaseNode], allow_update: bool = True,
                                  batch_size: int | None = None, store_text: bool = True) -> None:
        self.add_documents(docs, allow_update, batch_size, store_text)

    async def aget_document(self, doc_id: str, raise_error: bool = True) -> BaseNode | None:
        return self.get_document(doc_id, raise_error)

    async def adelete_document(self, doc_id: str, raise_error: bool = True) -> None:
        self.delete_document(doc_id, raise_error)

    async def adocument_exists(self, doc_id: str) -> bool:
        return self.document_exists(doc_id)

    async def aset_document_hash(self, doc_id: str, doc_hash: str) -> None:
        self.set_document_hash(doc_id, doc_hash)

    async def aset_document_hashes(self, doc_hashes: dict[str, str]) -> None:
        self.set_document_hashes(doc_hashes)

    async def aget_document_hash(self, doc_id: str) -> str | None:
        return self.get_document_hash(doc_id)

    async def aget_all_document_hashes(self) -> dict[str, str]:
        return self.get_all_document_hashes()

    async def aget_all_ref_doc_info(self) -> dict[str, RefDocInfo] | None:
        return self.get_all_ref_doc_info()

    async def aget_ref_doc_info(self, ref_doc_id: str) -> RefDocInfo | None:
        return self.get_ref_doc_info(ref_doc_id)

    async def adelete_ref_doc(self, ref_doc_id: str, raise_error: bool = True) -> None:
        self.delete_ref_doc(ref_doc_id, raise_error)
