"""What the test clients share: reading the server's msgpack answers off a socket."""
import msgpack


class Answers:
    """The msgpack messages a forward server sends on one connection, one at a time."""

    def __init__(self, conn):
        self.conn = conn
        self.unpacker = msgpack.Unpacker(raw=False)

    def next(self):
        """The next message, or None when the server closed the connection first."""
        while True:
            for message in self.unpacker:
                return message
            data = self.conn.recv(4096)
            if not data:
                return None
            self.unpacker.feed(data)
