"""Learned phrasings in the service: stored (store.py), kept in step with feedback, editors and the served
articles (service.py), masked before they are written (privacy.py), exported into front matter (export.py)."""
