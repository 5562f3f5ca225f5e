"""The one error hierarchy that ``provergym``'s command line reports.

Every subcommand lets a :class:`UserError` reach :func:`provergym.cli.main`, which prints
``provergym: error: <message>`` on stderr and exits with the error's ``exit_code``: 2 for
bad input or usage (a missing file, an unknown theorem, a corpus that is not built), 1 for
a check that ran and failed. The message names the file, line or theorem, and says what to
do. Failures inside a prover are not errors at all (``Rejected`` values); a prover that
crashes or hangs is :class:`provergym.api.ProverError`.
"""

from __future__ import annotations


class UserError(Exception):
    """Bad input or usage; the message says what is wrong and what to do (exit 2)."""

    exit_code = 2


class CheckFailed(UserError):
    """A check ran and failed: a proof or a database that does not verify (exit 1)."""

    exit_code = 1
