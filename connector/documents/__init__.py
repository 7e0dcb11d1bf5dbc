"""Orders back to Alephee, part two: invoices and other order documents from the ERP.

    documents folder (or the inbox) --(file-name patterns: the order and the type)-->
        readiness as for inbox files (connector.intake) --> name, size and content checks
        --> order resolved (connector.alephee.orderrefs) --> documents ledger "uploading"
        --> POST /v2/orders/{orderId}/documents --> ledger "attached" --> archive/
    refused, unmatched or unusable --> failed/ with <name>.error.txt

Exactly once per file content: the intake recognises a content it already processed, and the
documents ledger records the upload before it happens, so a crash between the upload and its
record is settled by reading the order's documents back from Alephee instead of uploading again.

Order references: like ``connector.shipping`` (a sibling it may not import), this package
resolves the order through ``connector.alephee.orderrefs``, which reads the orders ledger's
table in the shared database and asks GET /v2/orders for orders the connector did not write.
"""
