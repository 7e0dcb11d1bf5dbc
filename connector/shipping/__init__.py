"""Orders back to Alephee, part one: order status and tracking from the ERP's status exports.

    inbox/status file --(order-status mapping, connector.readers)--> rows + rejects report
        --> order reference resolved to the Alephee Id (connector.alephee.orderrefs)
        --> only changes (state: last acknowledged status and tracking per order)
        --> status queue (newer export supersedes a queued older one)
        --> batches of PUT /v2/orders --> per-order results by OrderId
        --> acknowledged: state advances; refused: reported once, not re-sent until it changes

Order references: this package sits at the rank of ``products`` and ``orders`` and may not
import them. It needs the orders ledger only to turn the ``OwnOrderId`` the connector wrote
into the Alephee Id; that small lookup lives one rank down, in ``connector.alephee.orderrefs``,
which reads the ledger's ``orders`` table in the shared database (read-only) and asks
GET /v2/orders for orders the connector did not write. ``connector.documents`` uses the same
lookup.
"""
