"""Corpus analyses built on the query engine (benchmark contamination, ...)."""
