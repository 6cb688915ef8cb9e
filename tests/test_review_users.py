"""Review accounts: scrypt hashes, roles, authentication, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from nightdesk.review.passwords import hash_password, verify_password
from nightdesk.review.users import UserStore
from nightdesk.review.views import UserView


@pytest.fixture
def users(review_url: str):
    store = UserStore(review_url)
    yield store
    store.close()


def test_a_hash_is_salted_scrypt_in_a_phc_like_string():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("$scrypt$ln=14,r=8,p=1$") and first != second, "a fresh salt every time"
    assert "correct horse" not in first
    assert verify_password("correct horse", first) and verify_password("correct horse", second)
    assert not verify_password("correct horsf", first)
    assert not verify_password("", first)


def test_a_hash_keeps_its_own_cost_parameters():
    salt, key = hash_password("pw").split("$")[-2:]
    import base64
    import hashlib

    cheaper = hashlib.scrypt(b"pw", salt=base64.b64decode(salt + "=" * (-len(salt) % 4)), n=2**10, r=4, p=1, dklen=32)
    stored = f"$scrypt$ln=10,r=4,p=1${salt}${base64.b64encode(cheaper).decode().rstrip('=')}"
    assert verify_password("pw", stored) and not verify_password("pw2", stored)
    assert stored.split("$")[-1] != key


@pytest.mark.parametrize("stored", ["", "plaintext", "$pbkdf2$x$y", "$scrypt$ln=14,r=8,p=1$salt"])
def test_a_malformed_hash_is_an_error_that_does_not_repeat_it(stored):
    with pytest.raises(ValueError, match="format") as error:
        verify_password("pw", stored)
    assert not stored or stored not in str(error.value)


def test_add_and_authenticate(users, review_url):
    users.add("ann", "s3cret-pass", "editor")
    users.add("root", "admin-pass-1", "admin")
    assert users.authenticate("ann", "s3cret-pass") == UserView("ann", "editor")
    assert users.authenticate("root", "admin-pass-1") == UserView("root", "admin")
    assert users.authenticate("ann", "s3cret-pasS") is None
    assert users.authenticate("nobody", "s3cret-pass") is None
    assert users.get("ann") == UserView("ann", "editor") and users.get("nobody") is None
    engine = sa.create_engine(review_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT password_hash FROM review_users WHERE username = 'ann'")).scalar_one()
    engine.dispose()
    assert stored.startswith("$scrypt$") and "s3cret-pass" not in stored


@pytest.mark.parametrize("username, password, role, message", [
    ("ann", "short", "editor", "at least 8 characters"),
    ("ann", "long enough", "owner", "must be one of"),
    ("", "long enough", "editor", "username"),
    ("ann smith", "long enough", "editor", "username"),
])
def test_add_refuses_bad_accounts(users, username, password, role, message):
    with pytest.raises(ValueError, match=message):
        users.add(username, password, role)
    assert users.list_users() == []


def test_add_refuses_a_duplicate_username(users):
    users.add("ann", "s3cret-pass", "editor")
    with pytest.raises(ValueError, match="already exists"):
        users.add("ann", "other-pass-1", "admin")
    assert users.authenticate("ann", "s3cret-pass") == UserView("ann", "editor")


def test_set_password_and_disable(users):
    users.add("ann", "s3cret-pass", "editor")
    users.set_password("ann", "new-pass-22")
    assert users.authenticate("ann", "s3cret-pass") is None
    assert users.authenticate("ann", "new-pass-22") == UserView("ann", "editor")
    with pytest.raises(ValueError, match="at least"):
        users.set_password("ann", "x")

    users.disable("ann")
    assert users.authenticate("ann", "new-pass-22") is None
    assert users.get("ann") is None
    assert users.list_users() == [UserView("ann", "editor", disabled=True)]
    users.enable("ann")
    assert users.authenticate("ann", "new-pass-22") == UserView("ann", "editor")
    for change in (lambda: users.disable("nobody"), lambda: users.set_password("nobody", "long enough"),
                   lambda: users.enable("nobody")):
        with pytest.raises(ValueError, match="no user 'nobody'"):
            change()


def test_accounts_share_the_store_with_the_queue(review_url):
    from nightdesk.review.queue import ReviewQueue

    queue, users = ReviewQueue(review_url), UserStore(review_url)
    try:
        users.add("ann", "s3cret-pass", "editor")
        assert queue.counts()["queued"] == 0
        assert UserStore(review_url).get("ann") == UserView("ann", "editor")
    finally:
        queue.close()
        users.close()
