"""The dry run: the same pass as a real run, with its effects recorded instead of done.

Owns: ``rehearse`` and ``Plan`` (``plan``: roll the state back, record file effects, watch the
pass and say what it would do), ``RecordingClient`` (``recorder``: Alephee reads go through,
writes are recorded and answered as accepted) and how the plan is told (``report``).

May import: the shared ground, ``connector.alephee``, ``connector.outbox`` and
``connector.products`` (the names of the change groups). Never the runner (it imports this
package), the operator's commands or the CLI.
"""
