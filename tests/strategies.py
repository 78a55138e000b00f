"""Hypothesis strategies: small corpora that stress suffix-array edge cases, and queries on them.

A corpus is a :class:`CorpusSpec` (documents of token ids, or texts for a byte-level index, the
token width, an optional shard size and eos id); :func:`build` indexes it in a directory and
returns the ``anygram.Index`` with the matching :class:`naive.NaiveIndex`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hypothesis import strategies as st

from helpers import build_from_ids, build_from_texts
from naive import NaiveIndex

# Token pools per width: small ids, ids whose little-endian bytes contain 0xff / 0x00 (so byte
# order and the all-ones separator are exercised), and the largest valid id (sep - 1).
POOLS = {
    1: [0, 1, 2, 3, 7, 97, 128, 200, 254],
    2: [0, 1, 2, 255, 256, 257, 511, 0xFF00, 0x00FF, 0xFFFE, 0xFEFF, 40000],
    4: [
        0,
        1,
        2,
        255,
        256,
        65535,
        65536,
        70000,
        2**31,
        2**31 + 1,
        0xFF00FF00,
        0x00FFFFFF,
        2**32 - 2,
    ],
}


@dataclass
class CorpusSpec:
    docs: list[list[int]] | None  # ids corpus
    texts: list[str] | None  # byte-level text corpus
    width: int
    shard_tokens: int | None
    eos: int | None

    def build(self, tmp: Path) -> tuple[object, NaiveIndex]:
        """Build the index and its naive twin (shards reconstructed from the built index)."""
        if self.texts is not None:
            idx = build_from_texts(tmp, self.texts, shard_tokens=self.shard_tokens)
            naive = NaiveIndex.from_texts(
                self.texts, shard_doc_cnts=[s.doc_cnt for s in idx.shards]
            )
        else:
            assert self.docs is not None
            idx = build_from_ids(
                tmp,
                self.docs,
                token_width=self.width,
                shard_tokens=self.shard_tokens,
                eos_token_id=self.eos,
            )
            naive = NaiveIndex(
                self.docs, self.width, eos=self.eos, shard_doc_cnts=[s.doc_cnt for s in idx.shards]
            )
        return idx, naive

    def all_docs(self) -> list[list[int]]:
        if self.texts is not None:
            return [list(t.encode("utf-8")) for t in self.texts]
        assert self.docs is not None
        return self.docs


@st.composite
def alphabets(draw: st.DrawFn, width: int) -> list[int]:
    pool = POOLS[width]
    return draw(st.lists(st.sampled_from(pool), min_size=2, max_size=4, unique=True))


@st.composite
def id_docs(draw: st.DrawFn, width: int) -> list[list[int]]:
    """Documents over a tiny alphabet, in one of several shapes, with some empty documents."""
    alpha = draw(alphabets(width))
    sym = st.sampled_from(alpha)
    shape = draw(st.sampled_from(["random", "repeats", "many_short", "single_long"]))
    if shape == "random":
        docs = draw(st.lists(st.lists(sym, max_size=25), min_size=1, max_size=8))
    elif shape == "repeats":
        docs = []
        for _ in range(draw(st.integers(1, 4))):
            unit = draw(st.lists(sym, min_size=1, max_size=4))
            reps = draw(st.integers(1, 20))
            tail = draw(st.lists(sym, max_size=3))
            docs.append(unit * reps + tail)
    elif shape == "many_short":
        docs = draw(st.lists(st.lists(sym, max_size=3), min_size=5, max_size=40))
    else:
        docs = [draw(st.lists(sym, min_size=30, max_size=120))]
    # sprinkle empty documents (skipped by the builder)
    for _ in range(draw(st.integers(0, 2))):
        docs.insert(draw(st.integers(0, len(docs))), [])
    if not any(docs):
        docs.append(draw(st.lists(sym, min_size=1, max_size=5)))
    return docs


TEXT_ALPHABET = st.sampled_from(list("ab a\nbé€😀中\u0000~"))


@st.composite
def texts(draw: st.DrawFn) -> list[str]:
    """Unicode documents (multi-byte UTF-8, NUL, emoji), some empty, some repetitive."""
    base = st.text(TEXT_ALPHABET, max_size=20)
    docs = draw(st.lists(base, min_size=1, max_size=6))
    if draw(st.booleans()):
        docs.append(draw(st.text(TEXT_ALPHABET, min_size=1, max_size=3)) * draw(st.integers(2, 15)))
    if not any(docs):
        docs.append("é")
    return docs


@st.composite
def corpora(
    draw: st.DrawFn, text: bool | None = None, widths: tuple[int, ...] = (1, 2, 4)
) -> CorpusSpec:
    """An ids corpus (width 1/2/4) or a byte-level text corpus, maybe split into several shards."""
    use_text = draw(st.booleans()) if text is None else text
    shard_tokens = draw(st.one_of(st.none(), st.integers(2, 24)))
    if use_text:
        return CorpusSpec(
            docs=None, texts=draw(texts()), width=1, shard_tokens=shard_tokens, eos=None
        )
    width = draw(st.sampled_from(widths))
    docs = draw(id_docs(width))
    eos = draw(st.one_of(st.none(), st.none(), st.sampled_from(POOLS[width][:3])))
    return CorpusSpec(docs=docs, texts=None, width=width, shard_tokens=shard_tokens, eos=eos)


def queries(
    draw: st.DrawFn, spec: CorpusSpec, n: int, min_size: int = 0, max_len: int = 8
) -> list[list[int]]:
    """``n`` queries: substrings of documents (present), substrings of the documents glued
    together (spanning boundaries, usually absent), random strings over the corpus alphabet,
    and random valid ids (mostly absent)."""
    docs = [d for d in spec.all_docs() if d]
    glued = [t for d in docs for t in d]
    alpha = sorted(set(glued))
    sep = (1 << (8 * spec.width)) - 1
    out = []
    for _ in range(n):
        kind = draw(st.sampled_from(["doc", "doc", "glued", "alpha", "random"]))
        if kind in ("doc", "glued"):
            src = draw(st.sampled_from(docs)) if kind == "doc" else glued
            i = draw(st.integers(0, len(src)))
            j = draw(st.integers(i, min(len(src), i + max_len)))
            q = src[i:j]
        elif kind == "alpha":
            q = draw(st.lists(st.sampled_from(alpha), max_size=max_len))
        else:
            pool = st.one_of(
                st.sampled_from(alpha), st.integers(0, sep - 1), st.sampled_from(POOLS[spec.width])
            )
            q = draw(st.lists(pool, max_size=max_len))
        if len(q) < min_size:
            q = q + [draw(st.sampled_from(alpha)) for _ in range(min_size - len(q))]
        out.append(q)
    return out


def token(draw: st.DrawFn, spec: CorpusSpec) -> int:
    """A continuation token: usually from the corpus alphabet, sometimes any valid id."""
    alpha = sorted({t for d in spec.all_docs() for t in d})
    sep = (1 << (8 * spec.width)) - 1
    return draw(st.one_of(st.sampled_from(alpha), st.sampled_from(alpha), st.integers(0, sep - 1)))


@st.composite
def doc_pieces(draw: st.DrawFn, docs: list[list[int]], pool: list[int], pieces: int = 4, piece_len: int = 15, noise: int = 2) -> list[int]:
    """A model-output-like text: 1 to ``pieces`` pieces of ``docs`` (each at most ``piece_len``
    tokens), each followed by up to ``noise`` tokens drawn from ``pool``."""
    out: list[int] = []
    for _ in range(draw(st.integers(1, pieces))):
        d = draw(st.sampled_from(docs))
        a = draw(st.integers(0, len(d)))
        b = draw(st.integers(a, min(len(d), a + piece_len)))
        out += d[a:b]
        out += draw(st.lists(st.sampled_from(pool), max_size=noise))
    return out


def spec_pieces(spec: CorpusSpec, pieces: int = 4, piece_len: int = 15, noise: int = 2) -> st.SearchStrategy[list[int]]:
    """:func:`doc_pieces` of a corpus's non-empty documents, the noise from its alphabet."""
    docs = [d for d in spec.all_docs() if d]
    alpha = sorted({t for d in docs for t in d})
    return doc_pieces(docs, alpha, pieces, piece_len, noise)
