"""Kennisbank core library: articles, retrieval and drafts. Imports nothing from indexer/, api/ or eval/."""
