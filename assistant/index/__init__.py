"""The persistent index: versioned Chroma collections plus the BM25 side, one writer at a time."""
