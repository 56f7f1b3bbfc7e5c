"""Seeds a fresh meetvault for bench/run.sh: the first account (its own org), an API key that
reads and writes meetings, and MEETINGS meetings; prints the key and one meeting id.

    python3 bench/hotpath_setup.py http://127.0.0.1:PORT [MEETINGS]

Standard library only: this runs before anything else is installed.
"""

import json
import sys
import urllib.error
import urllib.request


def call(base, method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.headers, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")


def main():
    base = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    status, headers, body = call(base, "POST", "/api/v1/auth/register", {
        "email": "ops@example.com", "password": "correct horse battery staple 42",
        "name": "Bench", "org_name": "Bench"})
    assert status == 201, body
    cookie = next(c.split(";")[0] for c in headers.get_all("set-cookie")
                  if c.split("=")[0].endswith("mv_session"))
    session = {"cookie": cookie, "x-csrf-token": body["csrf_token"]}
    status, _, key = call(base, "POST", "/api/v1/api-keys",
                          {"name": "bench", "permissions": ["meetings:read", "meetings:write"]},
                          session)
    assert status == 201, key
    bearer = {"authorization": "Bearer " + key["key"]}
    first = None
    for i in range(count):
        status, _, m = call(base, "POST", "/api/v1/meetings",
                            {"title": f"Weekly planning {i}: roadmap, hiring, the Q3 budget"},
                            bearer)
        assert status == 201, m
        first = first or m["id"]
    print(key["key"], first)


if __name__ == "__main__":
    main()
