"""Error messages for an id that does not exist: say where the ids are listed, and suggest close matches."""

from __future__ import annotations

import difflib

LIST_ACCOUNTS = "csm-analytics brief --list"


def close_matches(value: str, known: list[str], n: int = 3) -> list[str]:
    """Up to n known ids that look like `value` (case-insensitive; difflib ratio >= 0.6)."""
    by_upper = {k.upper(): k for k in known}
    return [by_upper[m] for m in difflib.get_close_matches(value.strip().upper(), list(by_upper), n=n, cutoff=0.6)]


def account_ids(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT account_id FROM raw.accounts ORDER BY account_id").fetchall()]


def unknown_account_message(account_id: str, known: list[str]) -> str:
    """"Unknown account 'ACC000203'. Did you mean ACC0000203? List the account ids with `csm-analytics brief --list`."""
    close = close_matches(account_id, known)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return (f"Unknown account {account_id!r}: no such account_id in raw.accounts.{hint} List the account ids with "
            f"`{LIST_ACCOUNTS}` (or `{LIST_ACCOUNTS} CSM01` for one CSM's).")
