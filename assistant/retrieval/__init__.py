"""Finding the right stories: hybrid dense + BM25 retrieval, filters and time awareness."""
