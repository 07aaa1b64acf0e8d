"""Retrieval evaluation: benchmark loaders, Hits@k / MRR@10, and a runner that compares Newsdesk's pipeline
with a plain dense-only baseline on the same index in the same run."""
