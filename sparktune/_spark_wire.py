"""The framing both ends of a SparkTrials result channel speak: length-prefixed pickles.

A message is a tuple whose first item names it. Messages go over a TCP connection that the
Spark task opens to the driver and authenticates with a per-run secret before anything is
unpickled (see :mod:`sparktune._spark_channel`).
"""

from __future__ import annotations

import pickle
import socket
import struct
from typing import Any

import cloudpickle

__all__ = ["TOKEN_BYTES", "ChannelClosed", "send_message", "recv_message", "send_token", "recv_token"]

_HEADER = struct.Struct("!I")


class ChannelClosed(ConnectionError):
    """The other end closed the connection (a worker exited, or the driver stopped the run)."""


def send_message(sock: socket.socket, message: tuple[Any, ...]) -> None:
    """Send one message (pickled with cloudpickle so objects from ``__main__`` travel)."""
    body = cloudpickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(body)) + body)


def recv_message(sock: socket.socket) -> tuple[Any, ...]:
    """Receive one message; raises :class:`ChannelClosed` when the peer has gone."""
    (size,) = _HEADER.unpack(_recv_exactly(sock, _HEADER.size))
    message = pickle.loads(_recv_exactly(sock, size))
    if not isinstance(message, tuple) or not message:
        raise ChannelClosed(f"malformed message of type {type(message).__name__}")
    return message


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            raise ChannelClosed("the connection was closed by the other end")
        chunks += chunk
    return bytes(chunks)


#: Length of the per-run secret, in bytes, sent raw before any pickle is read.
TOKEN_BYTES = 32


def send_token(sock: socket.socket, token: bytes) -> None:
    """Authenticate a new connection: the raw secret, before any pickled message."""
    if len(token) != TOKEN_BYTES:
        raise ValueError(f"the channel token must be {TOKEN_BYTES} bytes, got {len(token)}")
    sock.sendall(token)


def recv_token(sock: socket.socket) -> bytes:
    """The raw secret a new connection opened with (compare it before unpickling anything)."""
    return _recv_exactly(sock, TOKEN_BYTES)
