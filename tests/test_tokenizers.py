"""Tokenizers: widths from vocabulary size, HF tokenizer.json builds (offline), id checks."""

from __future__ import annotations

import hashlib
import json
import sys

import numpy as np
import pytest

import anygram
from anygram.errors import MissingExtraError, QueryError, TokenizerError
from anygram.tokenizers import (
    ByteTokenizer,
    HFTokenizer,
    check_token_ids,
    load_tokenizer,
    separator_id,
    token_width_for_vocab,
)
from helpers import write_jsonl

SENTENCES = [
    "the quick brown fox jumps over the lazy dog",
    "a lazy dog sleeps in the sun while the fox runs",
    "suffix arrays answer exact queries over huge corpora",
    "the fox and the dog are friends, said the quick brown fox",
    "tokenizers split text into subword units \u00e9t\u00e9 na\u00efve caf\u00e9",
]


def naive_count(docs: list[list[int]], q: list[int]) -> int:
    return sum(1 for d in docs for i in range(len(d) - len(q) + 1) if d[i : i + len(q)] == q)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_token_width_for_vocab():
    assert [token_width_for_vocab(v) for v in (1, 255, 256, 65535, 65536, 2**32 - 1)] == [1, 1, 2, 2, 4, 4]
    assert [separator_id(w) for w in (1, 2, 4)] == [255, 65535, 2**32 - 1]
    for bad in (0, 2**32):
        with pytest.raises(TokenizerError):
            token_width_for_vocab(bad)


def test_byte_tokenizer_and_id_checks():
    tok = ByteTokenizer()
    ids = tok.encode("h\u00e9")
    assert ids.tolist() == [104, 195, 169] and tok.decode(ids) == "h\u00e9" and tok.decode([104]) == "h"
    assert check_token_ids([1, 2], 2).dtype == np.dtype("<u2")
    assert check_token_ids([], 4).shape == (0,)
    for bad in ([65535], [-1], [[1, 2]], ["a"], [1.5]):
        with pytest.raises(QueryError):
            check_token_ids(bad, 2)
    assert load_tokenizer(None).token_width == load_tokenizer("bytes").token_width == 1


def test_missing_tokenizer_file_and_extra(tmp_path, monkeypatch):
    with pytest.raises(TokenizerError, match="never downloaded"):
        load_tokenizer("gpt2")
    (tmp_path / "tokenizer.json").write_text("{not a tokenizer")
    pytest.importorskip("tokenizers")
    with pytest.raises(TokenizerError, match="cannot load"):
        load_tokenizer(tmp_path)
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(MissingExtraError, match=r"anygram\[tokenizers\]"):
        load_tokenizer(tmp_path / "tokenizer.json")


def bpe_tokenizer(path):
    tk = pytest.importorskip("tokenizers")
    from tokenizers import decoders, models, pre_tokenizers, trainers

    t = tk.Tokenizer(models.BPE())
    t.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    t.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    t.train_from_iterator(SENTENCES * 5, trainer=trainer)
    t.save(str(path))
    return path


def wordlevel_tokenizer(path, size: int):
    tk = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers

    vocab = {"[UNK]": 0, **{f"w{i}": i for i in range(1, size)}}
    t = tk.Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.save(str(path))
    return path


def check_hf_index(tmp_path, tok_path, texts, queries, width, shard_tokens=None):
    src = write_jsonl(tmp_path / "src" / "d.jsonl", [{"text": t} for t in texts])
    out = tmp_path / "idx"
    s = anygram.build(src, out, tokenizer=tok_path, workers=1, shard_tokens=shard_tokens)
    tok = HFTokenizer(tok_path)
    assert tok.token_width == width
    docs = [tok.encode(t).tolist() for t in texts]
    assert s.tokens == sum(len(d) + 1 for d in docs)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["token_width"] == width
    assert (out / "tokenizer.json").read_bytes() == tok_path.read_bytes()
    assert manifest["tokenizer"]["sha256"] == manifest["extra_files"]["tokenizer"]["sha256"] == sha256(tok_path)
    idx = anygram.open(out)
    for q in queries:
        expected = naive_count(docs, tok.encode(q).tolist())
        assert idx.count(q).count == expected, q
    return s, idx


def test_hf_bpe_tokenizer_width2(tmp_path):
    tok_path = bpe_tokenizer(tmp_path / "tokenizer.json")
    assert HFTokenizer(tok_path).vocab_size > 256
    texts = SENTENCES * 3 + ["the dog", "brown fox"]
    s, idx = check_hf_index(tmp_path, tok_path, texts, ["the", "the lazy dog", " lazy dog", " fox", "fox", "caf\u00e9", "zebra"], width=2, shard_tokens=40)
    assert s.shards > 1
    assert idx.count(" lazy dog").count == 6  # mid-sentence "Ġlazy Ġdog": twice in SENTENCES, 3 copies
    assert HFTokenizer(tok_path).eos_token_id == HFTokenizer(tok_path)._tk.token_to_id("<|endoftext|>")


def test_hf_wordlevel_tokenizer_width4(tmp_path):
    tok_path = wordlevel_tokenizer(tmp_path / "tokenizer.json", 70_000)
    rng = np.random.default_rng(0)
    words = [1, 2, 255, 256, 65535, 65536, 69_999]
    texts = [" ".join(f"w{w}" for w in rng.choice(words, size=rng.integers(1, 20))) for _ in range(60)] + ["unknown words here"]
    queries = ["w65535", "w65536 w69999", "w1 w1", "w255 w256", "w2", "nothing", "w65535 w65535 w65535"]
    check_hf_index(tmp_path, tok_path, texts, queries, width=4)


def test_hf_vocab_with_gaps_sized_by_largest_id(tmp_path):
    tk = pytest.importorskip("tokenizers")
    from tokenizers import models, pre_tokenizers

    t = tk.Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1, "b": 300}, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    t.save(str(tmp_path / "tokenizer.json"))
    tok = HFTokenizer(tmp_path)  # a folder holding tokenizer.json
    assert tok.vocab_size == 301 and tok.token_width == 2
    assert tok.encode("a b").tolist() == [1, 300]
