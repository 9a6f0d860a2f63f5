"""Users and credentials."""

from __future__ import annotations

import pytest
from lamina_auth import AuthCredentials, BaseUser, SimpleUser, UnauthenticatedUser


def test_simple_user() -> None:
    user = SimpleUser("alice")
    assert user.is_authenticated
    assert user.display_name == "alice"
    assert user.identity == "alice"
    named = SimpleUser("u42", "Alice Liddell")
    assert named.display_name == "Alice Liddell" and named.identity == "u42"
    assert user == SimpleUser("alice") and user != named
    assert repr(user) == "SimpleUser('alice')"


def test_unauthenticated_user() -> None:
    user = UnauthenticatedUser()
    assert not user.is_authenticated
    assert user.display_name == "" and user.identity == ""
    assert user == UnauthenticatedUser()


def test_base_user_must_be_implemented() -> None:
    with pytest.raises(NotImplementedError):
        _ = BaseUser().is_authenticated


def test_credentials() -> None:
    creds = AuthCredentials(["authenticated", "admin"])
    assert creds.scopes == ("authenticated", "admin")
    assert "admin" in creds and "root" not in creds
    assert AuthCredentials().scopes == ()
    assert creds == AuthCredentials(("authenticated", "admin"))
    assert repr(creds) == "AuthCredentials(['authenticated', 'admin'])"
