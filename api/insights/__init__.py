"""What the request log says, and how long it keeps personal data (issue 17).

- `periods`, `rising`: days and weeks, and the rate test that finds a subject rising (pure)
- `queries`: counts per day from the database (SQLite and PostgreSQL alike)
- `groups`: unanswered messages grouped by meaning (the gaps page's grouping), and which groups grow
- `report`: all of it as one `Insights` answer (`GET /v1/insights`, the page, `kb insights`, the CSV)
- `alerts`: a webhook called once per rising subject per period
- `retention`: message and reply texts removed after `KB_RETENTION_DAYS`, in batches
- `background`: the threads in the service that run retention and alerts

Masking (e-mail addresses, phone numbers and IBANs out of every text before it is stored) is `kb.masking`, shared
with the evaluation reports.
"""
