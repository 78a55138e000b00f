"""Index construction: stream documents into shards, build each shard's suffix array, commit atomically."""
