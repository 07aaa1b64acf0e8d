"""The hybrid search as a LlamaIndex retriever: what the app (`Newsdesk.retriever`) and the evaluation search
with. `retrieve("question")` gives LlamaIndex nodes; `search()` and the rest are `HybridSearch`'s own.

Kept apart from retrieval/hybrid.py so that importing the search does not import LlamaIndex: a cold
`newsdesk ask` searches with `HybridSearch` itself (assistant/pipeline.py, `quick_start`).

    retriever = HybridRetriever.from_settings(settings, readers=ReaderCache(IndexStore(settings)), embedder=enc)
    retriever.filters = Filters(sources=["Last Week in AI"])
    nodes = retriever.retrieve("Anthropic sues the Trump administration")
"""

from __future__ import annotations

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from assistant.retrieval.hybrid import HybridSearch


class HybridRetriever(HybridSearch, BaseRetriever):
    """`HybridSearch` behind LlamaIndex's `BaseRetriever`; `retrieve()` searches with `filters` and `as_of`.
    `HybridSearch.__init__` calls `BaseRetriever.__init__` (the next class in this one's MRO)."""

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self.search(query_bundle.query_str, filters=self.filters, as_of=self.as_of)
        return [NodeWithScore(node=TextNode(id_=h.chunk.chunk_id, text=h.chunk.text,
                                            metadata=h.chunk.metadata()), score=h.score)
                for h in result.hits]
