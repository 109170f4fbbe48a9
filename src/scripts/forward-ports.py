"""A TCP forwarder (src/dev/ports.ts): python forward-ports.py PORT=HOST:TARGET..."""

import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        writer.close()


def forwarder(host, port):
    async def handle(reader, writer):
        try:
            up_reader, up_writer = await asyncio.open_connection(host, port)
        except OSError as e:
            print(f"{host}:{port}: {e}", flush=True)
            writer.close()
            return
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        for w in (writer, up_writer):
            w.close()

    return handle


async def main(rules):
    servers = []
    for rule in rules:
        listen, target = rule.split("=")
        host, port = target.rsplit(":", 1)
        servers.append(await asyncio.start_server(forwarder(host, int(port)), "0.0.0.0", int(listen)))
        print(f"port {listen} -> {target}", flush=True)
    await asyncio.gather(*(s.serve_forever() for s in servers))


asyncio.run(main(sys.argv[1:]))
