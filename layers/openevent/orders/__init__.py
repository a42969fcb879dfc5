"""Orders: placing one (`placing`: classic and checkout flows), its life (`lifecycle`: status
machine, holds, the one seat transaction, cancel, expiry, completion), changes (`updates`),
attendees (`attendees`, `attendee_extras`, `attendee_lists`), prices and codes applied
(`pricing`), payments (`payments`, `gateways`, `webhooks`, `return_urls`, `free_orders`,
`onsite`), figures kept by every transaction (`figures`, `statistics`, `admin_sales`,
`sales_documents`), lists (`lists`) and who may download an order's documents
(`document_access`, `document_downloads`). Above events and accounts.
"""
