"""Corpus analyses built on the index: contamination, tracing, deduplication, novelty."""
