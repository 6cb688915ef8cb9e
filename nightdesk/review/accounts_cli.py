"""``nightdesk review`` account commands: add, reset, disable, enable and list accounts, and
end an account's sessions.

Each prints one line saying what changed and exits 0, or prints why nothing changed on
stderr and exits 2 (unknown user, short password, passwords that differ). Passwords are
prompted twice on a terminal, or read as one line from stdin with ``--password-stdin``
(for scripts), never taken as an argument, where ``ps`` and shell history would show them.
Resetting a password and disabling an account end the account's sessions at once.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import sys
from collections.abc import Callable

from nightdesk.review.sessions import SessionStore
from nightdesk.review.users import UserStore

#: Exit status when nothing was changed because of the input.
REFUSED = 2


class _Refused(Exception):
    """Nothing was changed; the message says why."""


def _command(change: Callable[[argparse.Namespace], str]) -> Callable[[argparse.Namespace], int]:
    """Print the line ``change`` returns and exit 0, or say why nothing changed and exit 2."""

    @functools.wraps(change)
    def run(args: argparse.Namespace) -> int:
        try:
            print(change(args))
        except (ValueError, _Refused) as exc:
            print(f"nightdesk review {args.review_command}: nothing changed: {exc}", file=sys.stderr)
            return REFUSED
        return 0

    return run


@_command
def add_user(args: argparse.Namespace) -> str:
    """Create an account."""
    UserStore().add(args.name, _read_password(args), args.role)
    return f"added {args.role} {args.name}"


@_command
def reset_password(args: argparse.Namespace) -> str:
    """Set a new password and end the account's sessions."""
    users = UserStore()
    _require_user(users, args.name)  # before asking for a password
    ended = users.set_password(args.name, _read_password(args))
    return f"password of {args.name} reset; {_sessions(ended)} ended"


@_command
def disable_user(args: argparse.Namespace) -> str:
    """Stop an account from logging in and end its sessions."""
    return f"disabled {args.name}; {_sessions(UserStore().disable(args.name))} ended"


@_command
def enable_user(args: argparse.Namespace) -> str:
    """Let a disabled account log in again (with its old password)."""
    UserStore().enable(args.name)
    return f"enabled {args.name}"


@_command
def end_sessions(args: argparse.Namespace) -> str:
    """End every live session of an account: its cookies are refused from now on."""
    return f"{_sessions(SessionStore().end_all(args.name))} of {args.name} ended"


def list_users(args: argparse.Namespace) -> int:
    """Print every account: role, status and how many sessions are live."""
    users = UserStore().list_users()
    if not users:
        print("no accounts yet: add one with `nightdesk review add-user NAME --role admin`")
        return 0
    live: dict[str, int] = {}
    for session in SessionStore().active():
        live[session.username] = live.get(session.username, 0) + 1
    width = max(len("user"), *(len(u.username) for u in users))
    print(f"{'user':<{width}}  role    status    live sessions")
    for user in users:
        status = "disabled" if user.disabled else "enabled"
        print(f"{user.username:<{width}}  {user.role:<6}  {status:<8}  {live.get(user.username, 0)}")
    return 0


def _require_user(users: UserStore, name: str) -> None:
    if all(u.username != name for u in users.list_users()):
        raise _Refused(f"no user {name!r} (see `nightdesk review list-users`)")


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != password:
        raise _Refused("the passwords differ")
    return password


def _sessions(count: int) -> str:
    return f"{count} session{'s' if count != 1 else ''}"
