"""The operator's commands: ``check``, ``status`` (and its JSON model), ``demo``, ``init``,
``reconcile``.

Owns: what a person runs and reads, apart from a pass itself (``connector.runner``).

May import: everything below it (the runner and every stage of the data path). Only the CLI
(``connector.cli``) and ``connector.clidoc`` import it.
"""
