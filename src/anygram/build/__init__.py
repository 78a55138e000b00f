"""Index construction: stream documents into shards, build each shard's suffix array, commit atomically.

``anygram.build`` is both this subpackage and the public function
:func:`anygram.build.pipeline.build`. Importing any submodule (``anygram.build.pipeline`` ...)
makes Python set the attribute ``anygram.build`` to this package, which would shadow the
function; so this package is itself callable and forwards to the function: ``anygram.build(...)``
works whichever of the two the attribute holds.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from .pipeline import build

        return build(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
