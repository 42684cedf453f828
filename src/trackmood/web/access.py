"""Who may use the server: the Host names it answers to, and the token that state-changing
requests carry.

- **Host check** (DNS rebinding). A page on ``evil.example`` whose name is made to resolve to
  this machine reaches the server with ``Host: evil.example``; the server answers only to the
  names it was started for (:func:`served_names`), whatever address it listens on. An IP
  address cannot be rebound, so a server listening on every address (``0.0.0.0``) also answers
  to its addresses; names need ``--allow-host``. The port of the ``Host`` header is not checked
  (an SSH tunnel or a proxy changes it and a rebinding page cannot).
- **Token** (cross-site and other-user writes). POST, PUT, PATCH and DELETE need the server's
  token in ``X-Trackmood-Token`` (or ``Authorization: Bearer``), compared in constant time. The
  page gets it from the HTML the server serves; a form on another site cannot send a header.

>>> sorted(served_names("127.0.0.1"))
['127.0.0.1', '::1', 'localhost']
>>> host_of("LocalHost.:8000"), host_of("[::1]:8000"), host_of("::1"), host_of("")
('localhost', '::1', '::1', '')
>>> allowed("10.1.2.3:8000", served_names("0.0.0.0", hostnames=["box"]), any_ip=True)
True
>>> allowed("evil.example", served_names("0.0.0.0", hostnames=["box"]), any_ip=True)
False
>>> check_token("short")
Traceback (most recent call last):
...
ValueError: the token must be 16 to 256 characters of A-Z a-z 0-9 . _ ~ + / = - (got 5 characters)
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

TOKEN_HEADER = "x-trackmood-token"
LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
WILDCARD = frozenset({"0.0.0.0", "::", ""})
_TOKEN_RE = re.compile(r"[A-Za-z0-9._~+/=-]{16,256}")


def host_of(value: str) -> str:
    """The name in a ``Host`` header: lower case, without port, brackets or a final dot."""
    value = value.strip()
    if not value:
        return ""
    if value.count(":") > 1 and not value.startswith("["):  # a bare IPv6 address
        return value.lower()
    try:
        name = urlsplit("//" + value).hostname or ""
    except ValueError:
        return value.lower()  # never matches a served name
    return name.rstrip(".").lower() if name != "." else name


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a bind address) only reaches this computer."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def machine_names() -> list[str]:
    """The host name and fully qualified name of this machine."""
    names = {socket.gethostname()}
    try:
        names.add(socket.getfqdn())
    except OSError:
        pass
    return sorted(n for n in names if n)


def served_names(
    host: str, extra: Iterable[str] = (), *, hostnames: Iterable[str] | None = None
) -> frozenset[str]:
    """The names a server bound to ``host`` answers to.

    On loopback: 127.0.0.1, localhost and ::1. Elsewhere: the bound address, this machine's
    names (``hostnames``, default :func:`machine_names`) and loopback (a wildcard address listens
    there too). ``extra`` names (``--allow-host``) are added in every case.
    """
    names = set(LOOPBACK_NAMES)
    bound = host.strip("[]").lower()
    if not is_loopback(bound):
        if bound not in WILDCARD:
            names.add(bound)
        names.update(n.lower() for n in (machine_names() if hostnames is None else hostnames))
    names.update(host_of(n) for n in extra)
    names.discard("")
    return frozenset(names)


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def allowed(header: str, names: frozenset[str], *, any_ip: bool = False) -> bool:
    """Whether a ``Host`` header names this server (``any_ip``: every IP address does)."""
    name = host_of(header)
    if not name:
        return False
    return name in names or (any_ip and _is_ip(name))


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def check_token(token: str) -> str:
    """``token`` if it is usable in a header and long enough to guess, else ``ValueError``."""
    if not isinstance(token, str) or not _TOKEN_RE.fullmatch(token):
        n = len(token) if isinstance(token, str) else 0
        raise ValueError(
            "the token must be 16 to 256 characters of A-Z a-z 0-9 . _ ~ + / = - "
            f"(got {n} characters)"
        )
    return token


def token_of(headers: dict[str, str]) -> str | None:
    """The token a request carries (``X-Trackmood-Token`` or ``Authorization: Bearer``)."""
    value = headers.get(TOKEN_HEADER)
    if value is not None:
        return value.strip()
    auth = headers.get("authorization", "")
    scheme, _, rest = auth.strip().partition(" ")
    if scheme.lower() == "bearer" and rest.strip():
        return rest.strip()
    return None


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison (on bytes, so any header value is comparable)."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())
