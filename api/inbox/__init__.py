"""Suggestions inside the inbox agents already work in: an inbox sends each message event, Kennisbank answers with
a private note of drafts, and learns from the reply the agent really sent.

The shape is the same for every inbox; only one module knows a particular one:

    api/routes/chatwoot.py      POST /v1/integrations/chatwoot/webhook/{token}: check, record, answer 202
    api/inbox/chatwoot.py       Chatwoot alone: its payloads, signature, API client and note layout
    api/inbox/connector.py      any inbox: a delivery accepted once; a worker that suggests (api/service.py, the
                                one seam into the suggestion path), posts the note with bounded retries, and
                                compares an agent's reply with the drafts (api/inbox/compare.py)
    api/inbox/store.py          the tables every process shares (api/sql/schema.py: inbox_*)
    api/inbox/connections.py    which inbox accounts are connected, with their secrets (a 0600 file)
    api/inbox/cli.py            `kb chatwoot connect|status`
    api/pages/chatwoot.py       the sidebar page registered as a Chatwoot dashboard app

A second inbox (Zendesk, OBI4wan) is one module like chatwoot.py (parse its events into `events.MessageEvent`,
post a note, check its signature) plus its route.
"""
