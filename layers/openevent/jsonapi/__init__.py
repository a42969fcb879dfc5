"""The JSON:API 1.0 format, independent of any resource: request parsing and validation
(`request`, `fields`: a 422 naming the field), documents and relationships (`document`),
collection queries with filters, sorts and cursors (`query`, `filtering`), Open Event's extra
attributes (`compat`) and types that link both ways (`links`)."""
