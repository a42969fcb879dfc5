"""Ticket documents: the order manifest, the PDF renderer and the ticket mail bodies.

Importing this package is cheap: it loads only the manifest (stdlib). The renderer
(``openevent.documents.render``: WeasyPrint, pikepdf, segno) and the mail bodies
(``openevent.documents.mail``: Jinja2) are imported by the code that uses them.
"""

from openevent.documents.manifest import (
    ManifestAttendee,
    ManifestEvent,
    ManifestPurchaser,
    OrderManifest,
)

__all__ = ["ManifestAttendee", "ManifestEvent", "ManifestPurchaser", "OrderManifest"]
