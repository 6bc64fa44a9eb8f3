"""A DNS server for the tests that publish DKIM keys: UDP on a free port of 127.0.0.1,
answering TXT queries from a table the test fills, NXDOMAIN for anything else."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rrset


@dataclass
class DnsServer:
    port: int = 0
    txt: dict[str, str] = field(default_factory=dict)  # name (no trailing dot) → record

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        record = self.txt.get(name)
        if record is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return response
        # A TXT record holds strings of at most 255 bytes: a long key is several of them.
        strings = " ".join(f'"{record[i : i + 250]}"' for i in range(0, len(record), 250))
        response.answer.append(dns.rrset.from_text(question.name, 60, "IN", "TXT", strings))
        return response


@contextmanager
def dns_server() -> Iterator[DnsServer]:
    server = DnsServer()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    server.port = sock.getsockname()[1]
    stopping = threading.Event()

    def serve() -> None:
        while not stopping.is_set():
            try:
                data, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            try:
                query = dns.message.from_wire(data)
            except dns.exception.DNSException:
                continue
            sock.sendto(server.answer(query).to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopping.set()
        thread.join(2)
        sock.close()
