#!/usr/bin/env python3
"""Pin the part of Chatwoot's OpenAPI document Kennisbank calls: the operations below and every schema, parameter
and security scheme they reference (transitively), copied verbatim from one commit of a Chatwoot checkout.

    scripts/pin_chatwoot_contract.py /path/to/chatwoot.git f66b551c7d6778b7984041832cbba70bc833cde3

writes tests/contracts/chatwoot/openapi.json. The file is Chatwoot's text (MIT, see that folder's README), not
ours: re-run this script to move the pin, never edit the output by hand. Operations Chatwoot's document does not
describe (dashboard apps) live in tests/contracts/chatwoot/dashboard_apps.openapi.json, written from the Rails
source and cited there.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SOURCE = "swagger/tag_groups/application_swagger.json"
OUT = Path(__file__).resolve().parents[1] / "tests" / "contracts" / "chatwoot" / "openapi.json"
#: path -> the methods Kennisbank sends (api/inbox/chatwoot.py, `ChatwootApi`).
OPERATIONS = {
    "/api/v1/profile": ["get"],
    "/api/v1/accounts/{account_id}/conversations/{conversation_id}/messages": ["get", "post"],
    "/api/v1/accounts/{account_id}/webhooks": ["get", "post"],
    "/api/v1/accounts/{account_id}/webhooks/{webhook_id}": ["patch"],
}


def refs(node: Any) -> set[str]:
    """Every local `$ref` under `node`."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            found.add(ref)
        for value in node.values():
            found |= refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= refs(value)
    return found


def pin(git_dir: str, commit: str) -> dict[str, Any]:
    text = subprocess.run(["git", "-C", git_dir, "show", f"{commit}:{SOURCE}"], capture_output=True, text=True,
                          check=True).stdout
    doc = json.loads(text)
    paths: dict[str, Any] = {}
    for path, methods in OPERATIONS.items():
        item = doc["paths"][path]
        paths[path] = {k: v for k, v in item.items() if k in methods or k == "parameters"}
    components: dict[str, dict[str, Any]] = {}
    security = {name for item in paths.values() for op in item.values() if isinstance(op, dict)
                for requirement in op.get("security", []) for name in requirement}
    components["securitySchemes"] = {n: doc["components"]["securitySchemes"][n] for n in sorted(security)}
    pending = refs(paths)
    seen: set[str] = set()
    while pending:
        ref = pending.pop()
        if ref in seen:
            continue
        seen.add(ref)
        _, _, kind, name = ref.split("/", 3)
        value = doc["components"][kind][name]
        components.setdefault(kind, {})[name] = value
        pending |= refs(value)
    for kind in components:
        components[kind] = dict(sorted(components[kind].items()))
    return {
        "openapi": doc["openapi"],
        "info": {**doc["info"], "x-pinned-from": {
            "repository": "https://github.com/chatwoot/chatwoot", "commit": commit, "file": SOURCE,
            "operations": {p: m for p, m in OPERATIONS.items()},
            "note": "A verbatim subset: these operations and every component they reference. Do not edit; "
                    "re-run scripts/pin_chatwoot_contract.py."}},
        "servers": doc.get("servers", []),
        "paths": paths,
        "components": components,
    }


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    OUT.write_text(json.dumps(pin(sys.argv[1], sys.argv[2]), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {OUT}")
