"""Open Event, serverless: the core every function group deploys in its Lambda layer.

From the top (handlers' glue) to the bottom (storage), each layer imports only those below it
(checked by `make imports`; docs/architecture.md has the picture):

- `local` — the local platform (one port, embedded AWS, sandboxes); never deployed;
- `routes`, `openapi`, `web` — handlers' glue shared by the function groups in `functions/`;
- `checkin`, `orders`, `events`, `accounts` — the ticketing domains, in that order;
  `lab` — the remote lab, beside them;
- `wire` — the JSON:API documents of every resource type;
- `rules` — who may see what, and the reads the wire and the domains share;
- `documents`, `payments`, `signing`, `mail`, `platform`, `jsonapi`, `models` — the shared
  machinery: PDFs, provider clients, signed ticket codes, mail, platform-wide settings and
  counters, the JSON:API format, the tables.
"""
