"""Lookalike's product logic over the vector-store protocol: queries and their options, the
indexing plan, revisions, promotion and the quality gate, evaluation, near-duplicates, reports
and the collections' typed metadata. It speaks to Qdrant only through ``infra.store``."""
