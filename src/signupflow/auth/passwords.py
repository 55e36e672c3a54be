from __future__ import annotations

import bcrypt

# Checked when an e-mail is unknown, so a login takes as long whether or not the account
# exists (no account enumeration by timing).
_DUMMY_HASH = bcrypt.hashpw(b"not-a-real-password", bcrypt.gensalt(rounds=12))


def hash_password(password: str, *, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def verify_password(password: str, password_hash: str | None) -> bool:
    try:
        if password_hash is None:
            bcrypt.checkpw(password.encode(), _DUMMY_HASH)
            return False
        return bcrypt.checkpw(password.encode(), password_hash.encode())
    except ValueError:  # over-long input or a malformed stored hash
        return False
