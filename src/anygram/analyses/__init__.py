"""Corpus analyses built on the query engine: attribution (tracing), novelty, contamination, dedup."""
