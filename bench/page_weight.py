"""Bytes a phone downloads to open the report form, and how long that takes on 2G/3G.

Usage: start the platform (bin/convive run), then
    .venv/bin/python bench/page_weight.py [--base http://127.0.0.1:8000]

Prints each resource's transferred size (gzip when the server offers it), the total, and the
estimated time at typical 2G (EDGE, 200 kbit/s) and 3G (1.5 Mbit/s) throughput.
"""

import argparse
import re
import urllib.request
from urllib.parse import urljoin

LINKS = re.compile(r'(?:src|href)="(/static/[^"]+\.(?:js|css))"')
SPEEDS = {"2G (200 kbit/s)": 200_000, "3G (1.5 Mbit/s)": 1_500_000}


def fetch(url: str) -> tuple[int, int, str]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip", "Accept-Language": "es"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local server only
        body = response.read()
        return len(body), response.status, response.headers.get("Content-Encoding", "identity")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    args = parser.parse_args()
    page = urljoin(args.base, "/report/")
    with urllib.request.urlopen(page, timeout=10) as response:  # noqa: S310 - local server only
        html = response.read().decode()
    resources = [page, *dict.fromkeys(urljoin(args.base, link) for link in LINKS.findall(html))]
    resources.append(urljoin(args.base, "/report/areas.geojson"))
    total = 0
    print(f"{'resource':<60} {'bytes':>9}  encoding")
    for url in resources:
        size, status, encoding = fetch(url)
        total += size
        print(f"{url.removeprefix(args.base):<60} {size:>9}  {encoding} ({status})")
    print(f"{'total':<60} {total:>9}")
    for name, bits in SPEEDS.items():
        print(f"time on {name}: {total * 8 / bits:.1f} s")


if __name__ == "__main__":
    main()
