"""The audit log's Merkle tree, as RFC 9162 (Certificate Transparency 2.0, §2.1) defines it.

Leaves are hashed with a 0x00 prefix and interior nodes with 0x01, so no leaf can pass for a
node. The tree over ``n`` leaves splits at the largest power of two below ``n``; every left
part of that recursion is a *perfect, aligned* subtree, so any root or proof needs only the
hashes of such subtrees. The store keeps exactly those: node ``(level, index)`` covers leaves
``[index·2^level, (index+1)·2^level)``. Appending a leaf completes, on average, one more::

    >>> nodes = {}
    >>> for i, data in enumerate([b"a", b"b", b"c"]):
    ...     for level, index, digest in completed(i, leaf_hash(data), nodes.get):
    ...         nodes[level, index] = digest
    >>> root(3, nodes.get).hex()[:16]
    '36642e73c2540ab1'
    >>> proof = inclusion_proof(2, 3, nodes.get)
    >>> verify_inclusion(leaf_hash(b"c"), 2, 3, proof, root(3, nodes.get))
    True

Roots and proofs cost O(log n) lookups whatever the size; the verifiers need nothing but
hashes, so an auditor can check a proof offline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence

Lookup = Callable[[tuple[int, int]], bytes | None]
"""``get((level, index))``: the hash of a perfect aligned subtree, or ``None`` if not stored."""

EMPTY_ROOT = hashlib.sha256(b"").digest()


class MissingNode(LookupError):
    """A subtree hash the tree needs is not in the store: the store is damaged."""


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 leaf hash: SHA-256(0x00 ‖ data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def completed(index: int, leaf: bytes, get: Lookup) -> list[tuple[int, int, bytes]]:
    """The nodes appending leaf number ``index`` (hash ``leaf``) completes, leaf included.

    Each is ``(level, index, hash)``; the store keeps them all. Left siblings are read with
    ``get``, which must already hold the nodes of earlier leaves.
    """
    out = [(0, index, leaf)]
    level, position, digest = 0, index, leaf
    while position % 2 == 1:
        left = get((level, position - 1))
        if left is None:
            raise MissingNode(f"node ({level}, {position - 1}) is missing")
        digest = node_hash(left, digest)
        level, position = level + 1, position // 2
        out.append((level, position, digest))
    return out


def subtree(start: int, end: int, get: Lookup) -> bytes:
    """MTH of leaves ``[start, end)``, from perfect aligned subtree hashes."""
    size = end - start
    if size <= 0:
        return EMPTY_ROOT
    if size & (size - 1) == 0 and start % size == 0:
        level = size.bit_length() - 1
        found = get((level, start >> level))
        if found is None:
            raise MissingNode(f"node ({level}, {start >> level}) is missing")
        return found
    k = _split(size)
    return node_hash(subtree(start, start + k, get), subtree(start + k, end, get))


def root(size: int, get: Lookup) -> bytes:
    """The tree head over the first ``size`` leaves (SHA-256 of nothing when empty)."""
    return subtree(0, size, get)


def inclusion_proof(index: int, size: int, get: Lookup) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[size]): the audit path of leaf ``index``."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    out: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        k = _split(end - start)
        if index < start + k:
            out.append(subtree(start + k, end, get))
            end = start + k
        else:
            out.append(subtree(start, start + k, get))
            start += k
    return out[::-1]


def consistency_proof(old: int, new: int, get: Lookup) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(old, D[new]): that the first ``old`` leaves are unchanged."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    return list(_subproof(old, 0, new, True, get))


def _subproof(m: int, start: int, end: int, whole: bool, get: Lookup) -> Iterator[bytes]:
    n = end - start
    if m == n:
        if not whole:
            yield subtree(start, end, get)
        return
    k = _split(n)
    if m <= k:
        yield from _subproof(m, start, start + k, whole, get)
        yield subtree(start + k, end, get)
    else:
        yield from _subproof(m - k, start + k, end, False, get)
        yield subtree(start, start + k, get)


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2: whether ``proof`` shows leaf hash ``leaf`` at ``index`` of ``size``."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether ``proof`` shows tree ``old`` is a prefix of tree ``new``."""
    if old == new:
        return not proof and old_root == new_root
    if not 0 < old < new or not proof:
        return False
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root starts the path
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn % 2 == 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root
