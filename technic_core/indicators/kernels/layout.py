"""Input validation kernels over a ``(T, N)`` array.

``count_columns`` is the fast pass run on every plain-array input (and once
per field of a ``Panel``): for a range of columns, each column's first
non-NaN row, its count of NaNs and of infinities, in one row-order walk with
no branch in the inner loop (it vectorises, and column ranges run on the
thread pool).  A column is well laid out when its NaNs are exactly the ones
before its first value and it holds no infinity.

``transpose_counts`` does the same counting while it copies a column-major
array (a pandas frame's values) into a row-major one: the copy the kernels
need and the check in one read of the input.

``scan_layout`` finds the *first* defect in row order, for the error message;
it runs only when the fast pass found one.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types, uintp
from numba.core import cgutils
from numba.extending import intrinsic


@njit(cache=True, nogil=True, error_model="numpy")
def count_columns(a, starts, nans, infs, col0, col1, width):
    """starts/nans/infs[col0:col1] of ``a``: first non-NaN row (T if none), NaN count, inf count.

    Four rows a step: the block's counters are loaded and stored once per four rows, not per
    row (one 5,277 x 504 field on one thread: 1.85 ms against 3.43 one row a step).
    """
    t_len = a.shape[0]
    t4 = t_len - t_len % 4
    for cb in range(col0, col1, width):
        w = min(col1, cb + width) - cb
        c0 = uintp(cb)
        s = np.full(w, t_len, np.int64)
        nn = np.zeros(w, np.int64)
        ni = np.zeros(w, np.int64)
        for t in range(0, t4, 4):
            for j in range(uintp(w)):
                x0 = a[t, c0 + j]
                x1 = a[t + 1, c0 + j]
                x2 = a[t + 2, c0 + j]
                x3 = a[t + 3, c0 + j]
                n0, n1, n2, n3 = x0 != x0, x1 != x1, x2 != x2, x3 != x3
                first = min(
                    min(t_len if n0 else t, t_len if n1 else t + 1),
                    min(t_len if n2 else t + 2, t_len if n3 else t + 3),
                )
                s[j] = min(s[j], first)
                nn[j] += np.int64(n0) + np.int64(n1) + np.int64(n2) + np.int64(n3)
                ni[j] += (
                    np.int64(abs(x0) == np.inf)
                    + np.int64(abs(x1) == np.inf)
                    + np.int64(abs(x2) == np.inf)
                    + np.int64(abs(x3) == np.inf)
                )
        for t in range(t4, t_len):
            for j in range(uintp(w)):
                x = a[t, c0 + j]
                isnan = x != x
                s[j] = min(s[j], t_len if isnan else t)
                nn[j] += isnan
                ni[j] += abs(x) == np.inf
        for j in range(w):
            starts[cb + j] = s[j]
            nans[cb + j] = nn[j]
            infs[cb + j] = ni[j]


@njit(cache=True, nogil=True)
def scan_layout(a):
    """(starts, column, row, kind): kind 1 is the first infinity, else 2 the first interior NaN."""
    t, n = a.shape
    starts = np.full(n, t, dtype=np.int64)
    inf_col, inf_row, gap_col, gap_row = -1, -1, -1, -1
    for i in range(t):
        for j in range(n):
            x = a[i, j]
            if np.isnan(x):
                if starts[j] < i and gap_col < 0:
                    gap_col, gap_row = j, i
                continue
            if starts[j] == t:
                starts[j] = i
            if np.isinf(x) and inf_col < 0:
                inf_col, inf_row = j, i
    if inf_col >= 0:
        return starts, inf_col, inf_row, 1
    if gap_col >= 0:
        return starts, gap_col, gap_row, 2
    return starts, -1, -1, 0


@intrinsic
def _transpose8(typingctx, a, out, t0, j0):
    """out[t0:t0+8, j0:j0+8] = a[t0:t0+8, j0:j0+8], ``a`` column-major and ``out`` row-major.

    Eight loads of eight rows down eight columns, a 3-stage shuffle network (LLVM lowers it to
    the target's permutes), eight stores of eight columns along eight rows.  Element by element
    the strided side is read one double at a time; this moves a tile at the copy's speed.
    """
    sig = types.void(a, out, t0, j0)

    def codegen(context, builder, signature, args):
        a_ty, out_ty = signature.args[0], signature.args[1]
        src = context.make_array(a_ty)(context, builder, args[0])
        dst = context.make_array(out_ty)(context, builder, args[1])
        i64 = ir.IntType(64)
        vec = ir.VectorType(ir.DoubleType(), 8)
        bytes_ = ir.IntType(8).as_pointer()
        src_base = builder.bitcast(src.data, bytes_)
        dst_base = builder.bitcast(dst.data, bytes_)
        src_st = cgutils.unpack_tuple(builder, src.strides, 2)
        dst_st = cgutils.unpack_tuple(builder, dst.strides, 2)
        t0v, j0v = args[2], args[3]

        def at(base, row, col, st):
            off = builder.add(builder.mul(row, st[0]), builder.mul(col, st[1]))
            return builder.bitcast(builder.gep(base, [off]), vec.as_pointer())

        def shuffle(x, y, mask):
            return builder.shuffle_vector(x, y, ir.Constant(ir.VectorType(ir.IntType(32), 8), mask))

        cols = []
        for c in range(8):
            ld = builder.load(at(src_base, t0v, builder.add(j0v, ir.Constant(i64, c)), src_st))
            ld.align = 8
            cols.append(ld)
        # pairs of columns interleaved: even rows (ev) and odd rows (od)
        ev = [shuffle(cols[2 * k], cols[2 * k + 1], [0, 8, 2, 10, 4, 12, 6, 14]) for k in range(4)]
        od = [shuffle(cols[2 * k], cols[2 * k + 1], [1, 9, 3, 11, 5, 13, 7, 15]) for k in range(4)]
        rows = {}
        for src4, first in ((ev, 0), (od, 1)):
            # quads of columns: rows (first, first + 4) and (first + 2, first + 6)
            for sub, mask in ((0, [0, 1, 8, 9, 4, 5, 12, 13]), (2, [2, 3, 10, 11, 6, 7, 14, 15])):
                left = shuffle(src4[0], src4[1], mask)
                right = shuffle(src4[2], src4[3], mask)
                rows[first + sub] = shuffle(left, right, [0, 1, 2, 3, 8, 9, 10, 11])
                rows[first + sub + 4] = shuffle(left, right, [4, 5, 6, 7, 12, 13, 14, 15])
        for r in range(8):
            st = builder.store(
                rows[r], at(dst_base, builder.add(t0v, ir.Constant(i64, r)), j0v, dst_st)
            )
            st.align = 8
        return context.get_dummy_value()

    return sig, codegen


@njit(cache=True, nogil=True, error_model="numpy")
def transpose_counts(a, out, starts, nans, infs, col0, col1, width):
    """out[:, col0:col1] = a[:, col0:col1] (column-major in, row-major out), counting as it copies.

    The counts are ``count_columns``' for those columns.  Each tile of
    ``width`` columns is counted down its contiguous columns first (which
    brings it into cache), then written out in 8 x 8 blocks (``_transpose8``);
    the rows and columns past the last whole block one element at a time.
    """
    t_len = a.shape[0]
    tu = uintp(t_len)
    t8 = uintp(t_len - t_len % 8)
    for cb in range(col0, col1, width):
        w = uintp(min(col1, cb + width) - cb)
        w8 = w - w % uintp(8)
        c0 = uintp(cb)
        for jj in range(w):
            j = c0 + jj
            s = t_len
            nn = 0
            ni = 0
            for t in range(t_len):
                x = a[uintp(t), j]
                isnan = x != x
                s = min(s, t_len if isnan else t)
                nn += isnan
                ni += abs(x) == np.inf
            starts[j] = s
            nans[j] = nn
            infs[j] = ni
        for t0 in range(uintp(0), t8, uintp(8)):
            for jj in range(uintp(0), w8, uintp(8)):
                _transpose8(a, out, t0, c0 + jj)
        for t in range(t8, tu):
            for jj in range(w8):
                out[t, c0 + jj] = a[t, c0 + jj]
        for t in range(tu):
            for jj in range(w8, w):
                out[t, c0 + jj] = a[t, c0 + jj]
