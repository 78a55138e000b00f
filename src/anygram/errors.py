"""The exceptions anygram raises. Every one derives from :class:`AnygramError`.

The library raises them; the CLI turns them into one line on stderr and an exit code, and the
HTTP server into a 4xx JSON body. Each has a one-line docstring that says when it is raised.
"""

from __future__ import annotations


class AnygramError(Exception):
    """Base class of every error anygram raises on purpose."""

    exit_code = 1


class IndexFormatError(AnygramError):
    """The directory is not an index anygram understands (missing manifest, foreign or newer format)."""

    exit_code = 3


class CorruptIndexError(IndexFormatError):
    """An index file is truncated, resized or its checksum does not match the manifest."""

    exit_code = 4


class QueryError(AnygramError, ValueError):
    """A query or one of its parameters is invalid (unknown token id, absurd limit, wrong type)."""

    exit_code = 2


class CorpusError(AnygramError):
    """The input corpus cannot be read (missing path, unsupported format, bad record in strict mode)."""

    exit_code = 5


class BuildError(AnygramError):
    """Building an index failed (not enough memory or disk, output exists, interrupted worker)."""

    exit_code = 6


class TokenizerError(AnygramError):
    """A tokenizer cannot be loaded or does not fit the index (vocabulary too large, file missing)."""

    exit_code = 7


class DedupError(AnygramError):
    """Deduplication cannot run: bad parameters, an output that exists, an index that does not match the corpus."""

    exit_code = 9


class MissingExtraError(AnygramError, ImportError):
    """An optional dependency is not installed; the message names the extra that provides it."""

    exit_code = 8

    def __init__(self, module: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{module}' package: pip install 'anygram[{extra}]'"
        )
        self.module = module
        self.extra = extra


def require(module: str, extra: str, purpose: str):  # noqa: ANN201 - returns a module
    """Import an optional dependency or raise :class:`MissingExtraError` naming its extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtraError(module, extra, purpose) from exc


class BenchmarkError(CorpusError):
    """A benchmark file cannot be read or lacks the fields asked for (missing field, bad file, no item)."""
