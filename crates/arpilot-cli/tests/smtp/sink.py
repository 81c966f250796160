"""An SMTP server for the tests: aiosmtpd on 127.0.0.1, a free port printed on the first line of
stdout, every message accepted written to DIR as one file (written and synced before the 250
reply, as a mail server queues a message before it answers)."""

import asyncio
import os
import sys

from aiosmtpd.smtp import SMTP


class Store:
    def __init__(self, path):
        self.path = path
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        name = os.path.join(self.path, f"{self.n:06d}.eml")
        with open(name + ".tmp", "wb") as f:
            f.write(b"X-Rcpt: " + ",".join(envelope.rcpt_tos).encode() + b"\r\n")
            f.write(envelope.original_content or envelope.content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(name + ".tmp", name)
        return "250 OK queued as %06d" % self.n


async def main():
    store = Store(sys.argv[1])
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(store, hostname="sink.test"), "127.0.0.1", 0
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
