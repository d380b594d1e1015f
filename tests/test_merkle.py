"""The Merkle tree against a naive RFC 9162 implementation written here, from the RFC's text."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from watchkeeper import merkle


# The naive reference: straight from RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1, recomputing
# everything from the leaf data every time.
def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def naive_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + leaves[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + naive_mth(leaves[:k]) + naive_mth(leaves[k:]))


def naive_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*naive_path(m, leaves[:k]), naive_mth(leaves[k:])]
    return [*naive_path(m - k, leaves[k:]), naive_mth(leaves[:k])]


def naive_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [naive_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*naive_subproof(m, leaves[:k], b), naive_mth(leaves[k:])]
    return [*naive_subproof(m - k, leaves[k:], False), naive_mth(leaves[:k])]


def naive_proof(m: int, leaves: list[bytes]) -> list[bytes]:
    return naive_subproof(m, leaves, True)


def build(leaves: list[bytes]) -> dict[tuple[int, int], bytes]:
    nodes: dict[tuple[int, int], bytes] = {}
    for i, data in enumerate(leaves):
        for level, index, digest in merkle.completed(i, merkle.leaf_hash(data), nodes.get):
            nodes[level, index] = digest
    return nodes


LEAVES = [f"event {i}".encode() for i in range(64)]
NODES = build(LEAVES)


@pytest.mark.parametrize("size", range(1, 65))
def test_roots_and_every_proof_match_the_naive_tree(size: int) -> None:
    leaves = LEAVES[:size]
    root = merkle.root(size, NODES.get)
    assert root == naive_mth(leaves)
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, NODES.get)
        assert proof == naive_path(index, leaves)
        assert merkle.verify_inclusion(merkle.leaf_hash(leaves[index]), index, size, proof, root)
    for old in range(1, size + 1):
        proof = merkle.consistency_proof(old, size, NODES.get)
        assert proof == naive_proof(old, leaves)
        old_root = naive_mth(leaves[:old])
        assert merkle.verify_consistency(old, size, old_root, root, proof)


@settings(max_examples=40, deadline=None)
@given(st.integers(65, 700), st.data())
def test_larger_random_sizes(size: int, data: st.DataObject) -> None:
    leaves = [f"e{i}".encode() for i in range(size)]
    nodes = build(leaves)
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(1, size))
    root = merkle.root(size, nodes.get)
    assert root == naive_mth(leaves)
    assert merkle.inclusion_proof(index, size, nodes.get) == naive_path(index, leaves)
    assert merkle.consistency_proof(old, size, nodes.get) == naive_proof(old, leaves)


def test_proofs_fail_on_any_change() -> None:
    size, index = 37, 11
    root = merkle.root(size, NODES.get)
    leaf = merkle.leaf_hash(LEAVES[index])
    proof = merkle.inclusion_proof(index, size, NODES.get)
    assert not merkle.verify_inclusion(merkle.leaf_hash(b"forged"), index, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index + 1, size, proof, root)
    assert not merkle.verify_inclusion(leaf, index, size + 40, proof, root)  # another shape
    assert not merkle.verify_inclusion(leaf, index, size, proof[:-1], root)
    assert not merkle.verify_inclusion(leaf, index, size, [*proof, proof[0]], root)
    bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
    assert not merkle.verify_inclusion(leaf, index, size, bent, root)
    consistency = merkle.consistency_proof(20, size, NODES.get)
    old_root = merkle.root(20, NODES.get)
    assert merkle.verify_consistency(20, size, old_root, root, consistency)
    assert not merkle.verify_consistency(20, size, root, root, consistency)
    assert not merkle.verify_consistency(21, size, old_root, root, consistency)
    assert not merkle.verify_consistency(20, size, old_root, root, consistency[:-1])
    assert not merkle.verify_consistency(20, size, old_root, root, [])
    forked = build([*LEAVES[:19], b"fork", *LEAVES[20:]])
    assert not merkle.verify_consistency(20, size, merkle.root(20, forked.get), root, consistency)


def test_a_missing_node_is_an_error_not_a_guess() -> None:
    nodes = dict(NODES)
    del nodes[4, 0]
    with pytest.raises(merkle.MissingNode):
        merkle.root(16, nodes.get)
    with pytest.raises(merkle.MissingNode):  # leaf 17 needs leaf 16 beside it
        merkle.completed(17, merkle.leaf_hash(b"y"), {}.get)
    with pytest.raises(ValueError, match="not in a tree"):
        merkle.inclusion_proof(5, 5, NODES.get)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_proof(0, 5, NODES.get)


def test_the_empty_tree() -> None:
    assert merkle.root(0, {}.get) == hashlib.sha256(b"").digest()
