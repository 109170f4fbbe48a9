"""Mail settings, read from the environment as Pycroft's `MailConfig.from_env` does."""
import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class MailConfig:
    envelope_from: str
    mail_from: str
    smtp_host: str
    smtp_user: str
    smtp_password: str
    smtp_port: int = 465
    smtp_ssl: str = "ssl"

    @classmethod
    def from_env(cls) -> "MailConfig":
        """Every variable without a default must be set, if only to an empty string."""
        env = os.environ
        config = cls(
            envelope_from=env["PYCROFT_MAIL_ENVELOPE_FROM"],
            mail_from=env["PYCROFT_MAIL_FROM"],
            smtp_host=env["PYCROFT_SMTP_HOST"],
            smtp_user=env["PYCROFT_SMTP_USER"],
            smtp_password=env["PYCROFT_SMTP_PASSWORD"],
        )
        if (port := env.get("PYCROFT_SMTP_PORT")) is not None:
            config = replace(config, smtp_port=int(port))
        if (ssl := env.get("PYCROFT_SMTP_SSL")) is not None:
            config = replace(config, smtp_ssl=ssl)
        return config
