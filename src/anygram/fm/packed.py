"""Bit-packed unsigned integers in a little-endian uint64 word array (one spare word at the end)."""

from __future__ import annotations

import numpy as np

from ..engine._jit import kernel


def bits_for(max_value: int) -> int:
    """Bits needed to store every integer in ``[0, max_value]`` (at least 1)."""
    return max(1, int(max_value).bit_length())


def words_for(count: int, bits: int) -> int:
    """uint64 words holding ``count`` values of ``bits`` bits, plus one spare word (reads never run past the array)."""
    return -(-count * bits // 64) + 1


@kernel(cache=True, nogil=True)
def pack_into(values, bits, words, first):
    """OR ``values`` (non-negative int64, each < 2**bits) into ``words`` from value index ``first`` on."""
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1) if bits < 64 else ~np.uint64(0)
    for k in range(values.shape[0]):
        v = np.uint64(values[k]) & mask
        pos = (first + k) * bits
        w = pos >> 6
        off = np.uint64(pos & 63)
        words[w] |= v << off
        if off + np.uint64(bits) > np.uint64(64):
            words[w + 1] |= v >> (np.uint64(64) - off)


@kernel(cache=True, nogil=True)
def pack_at(values, index, bits, words):
    """OR ``values[k]`` into value slot ``index[k]`` of ``words``, for every k."""
    mask = (np.uint64(1) << np.uint64(bits)) - np.uint64(1) if bits < 64 else ~np.uint64(0)
    for k in range(values.shape[0]):
        v = np.uint64(values[k]) & mask
        pos = index[k] * bits
        w = pos >> 6
        off = np.uint64(pos & 63)
        words[w] |= v << off
        if off + np.uint64(bits) > np.uint64(64):
            words[w + 1] |= v >> (np.uint64(64) - off)


@kernel(cache=True, nogil=True, inline="always")
def get(words, bits, i):
    """Value number ``i`` (the caller checks ``i`` against the count; the spare word keeps reads in bounds)."""
    pos = i * bits
    w = pos >> 6
    off = np.uint64(pos & 63)
    v = np.uint64(words[w]) >> off
    if off + np.uint64(bits) > np.uint64(64):
        v |= np.uint64(words[w + 1]) << (np.uint64(64) - off)
    if bits < 64:
        v &= (np.uint64(1) << np.uint64(bits)) - np.uint64(1)
    return np.int64(v)
