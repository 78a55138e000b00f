"""Index construction: stream documents into shards, build each shard's suffix array, commit atomically.

The public entry point is :func:`anygram.build` (:func:`anygram.builder.pipeline.build`).
"""
