"""A login storm for bench/run.sh: IN_FLIGHT logins at once, for SECONDS, each a real Argon2id
verification (a wrong password for the seeded account, or an unknown email, which runs the
dummy hash). Prints the logins answered and their median and p99 latency in ms.

    python3 bench/login_storm.py http://127.0.0.1:PORT SECONDS [IN_FLIGHT]

Standard library only. The server must allow that many attempts (bench/run.sh raises
rate_limit.attempts for its own server): a 429 is counted and makes the run fail, since a
refused login costs no hash and would measure nothing.
"""

import json
import sys
import threading
import time
import urllib.error
import urllib.request


def login(base, i):
    email = "ops@example.com" if i % 2 == 0 else f"nobody{i}@example.com"
    body = json.dumps({"email": email, "password": f"not the password {i}"}).encode()
    req = urllib.request.Request(base + "/api/v1/auth/login", data=body, method="POST")
    req.add_header("content-type", "application/json")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status
    except urllib.error.HTTPError as e:
        e.read()
        return e.code
    except OSError as e:  # refused, reset: counted, and the run fails below
        return type(e).__name__


def main():
    base, seconds = sys.argv[1], float(sys.argv[2])
    in_flight = int(sys.argv[3]) if len(sys.argv) > 3 else 50
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    latencies, codes = [], {}

    def worker(n):
        i = n
        while time.monotonic() < deadline:
            started = time.monotonic()
            code = login(base, i)
            with lock:
                latencies.append((time.monotonic() - started) * 1000)
                codes[code] = codes.get(code, 0) + 1
            i += in_flight

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(in_flight)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if set(codes) != {401}:
        sys.exit(f"the storm's logins were answered {codes}, not all 401")
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(len(latencies), f"{p50:.0f}", f"{p99:.0f}")


if __name__ == "__main__":
    main()
