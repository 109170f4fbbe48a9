"""The dev environment's mail server (Pycroft's docker/mail.py): accepts every mail on port 2500
and prints it, headers and each text part, instead of delivering it."""
import asyncio
import email
import email.policy

from aiosmtpd.controller import Controller


class PrintingHandler:
    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        for key, value in message.items():
            print(f"{key}: {value}")
        for part in message.walk():
            if part.get_content_maintype() == "text":
                print(f"\n--- {part.get_content_type()} ---\n{part.get_content()}")
        print(flush=True)
        return "250 Message accepted for delivery"


async def main() -> None:
    controller = Controller(PrintingHandler(), hostname="0.0.0.0", port=2500)
    controller.start()
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    asyncio.run(main())
