"""Plain-integer edwards25519 arithmetic (RFC 8032 section 5.1), for tests only.

Lets tests build what no honest signer produces: signatures over small-order
and mixed-order keys, non-canonical point and scalar encodings. Slow and not
constant-time; never use it to sign anything real.
"""

from __future__ import annotations

import hashlib

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
_SQRT_M1 = pow(2, (P - 1) // 4, P)

Point = tuple[int, int, int, int]  # extended coordinates (X, Y, Z, T)
IDENTITY: Point = (0, 1, 1, 0)


def point_add(first: Point, second: Point) -> Point:
    x1, y1, z1, t1 = first
    x2, y2, z2, t2 = second
    a = (y1 - x1) * (y2 - x2) % P
    b = (y1 + x1) * (y2 + x2) % P
    c = 2 * t1 * t2 * D % P
    d = 2 * z1 * z2 % P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def point_mul(scalar: int, point: Point) -> Point:
    result = IDENTITY
    while scalar > 0:
        if scalar & 1:
            result = point_add(result, point)
        point = point_add(point, point)
        scalar >>= 1
    return result


def affine(point: Point) -> tuple[int, int]:
    z_inverse = pow(point[2], P - 2, P)
    return point[0] * z_inverse % P, point[1] * z_inverse % P


def same_point(first: Point, second: Point) -> bool:
    return affine(first) == affine(second)


def x_for(y: int, sign: int) -> int | None:
    """The x of the curve point with this y and sign bit, if there is one."""
    y %= P
    x2 = (y * y - 1) * pow(D * y * y + 1, P - 2, P) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * _SQRT_M1 % P
    if (x * x - x2) % P:
        return None
    return P - x if (x & 1) != sign else x


def point_from(y: int, sign: int = 0) -> Point | None:
    x = x_for(y, sign)
    return None if x is None else (x, y % P, 1, x * y % P)


def encode(point: Point) -> bytes:
    x, y = affine(point)
    return encode_raw(y, x & 1)


def encode_raw(y: int, sign: int) -> bytes:
    """The 32 bytes for ``y`` and a sign bit; ``y`` >= p gives a non-canonical encoding."""
    return (y | sign << 255).to_bytes(32, "little")


BASE: Point = point_from(4 * pow(5, P - 2, P) % P, 0)


def _order_eight_point() -> Point:
    # L times any curve point lies in the torsion subgroup; keep the first of order 8.
    y = 2
    while True:
        point = point_from(y)
        if point is not None:
            torsion = point_mul(L, point)
            if not same_point(point_mul(4, torsion), IDENTITY):
                return torsion
        y += 1


_EIGHT = _order_eight_point()
#: The eight points of order dividing 8, index k = k times a point of order 8.
SMALL_ORDER_POINTS: tuple[Point, ...] = tuple(point_mul(k, _EIGHT) for k in range(8))


def small_order_encodings() -> list[bytes]:
    """Every encoding of a small-order point, canonical or not (with y or y + p)."""
    encodings = set()
    for point in SMALL_ORDER_POINTS:
        x, y = affine(point)
        for sign in {x & 1, 1} if x == 0 else {x & 1}:
            encodings.add(encode_raw(y, sign))
            if y + P < 2**255:
                encodings.add(encode_raw(y + P, sign))
    return sorted(encodings)


def challenge(r_bytes: bytes, a_bytes: bytes, message: bytes) -> int:
    return int.from_bytes(hashlib.sha512(r_bytes + a_bytes + message).digest(), "little") % L


def signature(r_bytes: bytes, s: int) -> bytes:
    """R then S; ``s`` >= L gives a non-canonical S."""
    return r_bytes + s.to_bytes(32, "little")


def decode_loose(encoding: bytes) -> Point | None:
    """The point as OpenSSL reads a key: y reduced mod p, sign bit of x = 0 ignored."""
    value = int.from_bytes(encoding, "little")
    y, sign = value & (2**255 - 1), value >> 255
    x = x_for(y, 0)
    if x is None:
        return None
    if sign and x:
        x = P - x
    return (x, y % P, 1, x * y % P)


def is_small_order_encoding(encoding: bytes) -> bool:
    return encoding in small_order_encodings()


def is_canonical_encoding(encoding: bytes) -> bool:
    return int.from_bytes(encoding, "little") & (2**255 - 1) < P
