"""File intake: discovery, readiness, the file ledger, archive/failed moves and the watcher.

May import: the shared ground only (``connector.config``, ``errors``, ``db``, ``fsutil``,
``redact``). It knows nothing of what a file holds: the runner hands each claimed file to a
stage (products, order status, documents) through a callback.
"""

from connector.intake.core import Claim, Handler, Intake, Outcome
from connector.intake.crashpoints import crashpoint
from connector.intake.ledger import Ledger, LedgerEntry
from connector.intake.scan import Candidate

# ``connector.intake.watcher`` (watchdog) is imported by ``run`` only: a scheduled ``once``
# never watches, and watchdog's import is 0.05 s of an idle pass.

__all__ = [
    "Candidate",
    "Claim",
    "Handler",
    "Intake",
    "Ledger",
    "LedgerEntry",
    "Outcome",
    "crashpoint",
]
