"""FM-index kind: BWT rank structures and (on the fm branch) the index built on them."""
