"""Exits 0 once the SMTP server on PORT holds a conversation, not just an open port: smtp-ready.py PORT

Run as `python3 -c` (src/services/mail.ts); any error ends it with a traceback and exit code 1.
"""

import smtplib
import sys

smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=5).noop()
