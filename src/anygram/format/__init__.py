"""The on-disk index format: manifest, shard files, foreign (infini-gram) layouts."""
