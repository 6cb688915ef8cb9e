"""Password hashing for review accounts: scrypt from the standard library, no extra package.

A hash is stored as a PHC-like string, ``$scrypt$ln=14,r=8,p=1$<salt>$<key>`` (base64
without padding), so the cost parameters travel with each hash and can be raised later
without invalidating the accounts that already exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

# scrypt cost: N = 2**14, r = 8 needs 128 * r * N = 16 MiB and took 40-57 ms per hash
# (10 runs) on the 2-core development VM -- slow for guessing, quick enough for a login.
_LOG2_N = 14
_R = 8
_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_PATTERN = re.compile(r"^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password`` (a fresh random salt every time)."""
    salt = secrets.token_bytes(_SALT_BYTES)
    key = _scrypt(password, salt, _LOG2_N, _R, _P)
    return f"$scrypt$ln={_LOG2_N},r={_R},p={_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored``; the comparison takes constant time.

    :raises ValueError: ``stored`` is not a hash made by :func:`hash_password` (the message
        never repeats it).
    """
    match = _PATTERN.match(stored)
    if not match:
        raise ValueError("stored password hash is not in the $scrypt$ln=..,r=..,p=..$salt$key format")
    log2_n, r, p = (int(g) for g in match.group(1, 2, 3))
    expected = _unb64(match.group(5))
    return hmac.compare_digest(_scrypt(password, _unb64(match.group(4)), log2_n, r, p, len(expected)), expected)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, dklen: int = _KEY_BYTES) -> bytes:
    # maxmem leaves room above the 128 * r * N bytes scrypt needs (OpenSSL's default is 32 MiB).
    return hashlib.scrypt(password.encode(), salt=salt, n=2**log2_n, r=r, p=p, dklen=dklen,
                          maxmem=256 * r * 2**log2_n)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))
