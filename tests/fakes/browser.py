"""A stand-in web browser for login tests: ``python browser.py URL`` agrees on the authorize page
and follows the redirect to trackmood's listener, like a user's browser would.
"""

import sys
import time

import requests


def main(url: str) -> None:
    r = requests.get(url, allow_redirects=False, timeout=5)
    location = r.headers["Location"]
    for _ in range(100):  # the listener may not be up yet
        try:
            requests.get(location, timeout=5)
            break
        except requests.ConnectionError:
            time.sleep(0.05)


if __name__ == "__main__":
    main(sys.argv[1])
