"""Deliver an alert by mail (smtplib) and by webhook (an httpx JSON POST).

Each channel reports success or logs why not; nothing here raises, so an alert that cannot go
out never fails a run. The SMTP password comes from the environment variable the config names,
is registered as a secret (masked in every log line) and is never written anywhere. A
webhook's URL is a secret too (Slack and Teams put the token in it): only its host is logged.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from connector.alerts.message import Message
from connector.config import AlertSettings
from connector.redact import register_secret

log = logging.getLogger(__name__)


def deliver(settings: AlertSettings, message: Message, report: Path | None) -> bool:
    """True when at least one channel took the message."""
    results = []
    if settings.mail:
        results.append(send_mail(settings, message, report))
    if settings.webhook_url:
        results.append(send_webhook(settings, message))
    return any(results)


def smtp_password(settings: AlertSettings) -> str | None:
    password = os.environ.get(settings.smtp_password_env) if settings.smtp_password_env else None
    register_secret(password)
    return password


def send_mail(settings: AlertSettings, message: Message, report: Path | None) -> bool:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = settings.mail_from or settings.smtp_user or "connector@localhost"
    mail["To"] = ", ".join(settings.mail_to)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain="alephee-connector")
    mail.set_content(message.text)
    if report is not None and report.is_file():
        data = report.read_bytes()
        mail.add_attachment(data, maintype="text", subtype="html", filename=report.name)
    password = smtp_password(settings)
    if settings.smtp_user and not password:
        log.error(
            "alert mail not sent: smtp_user is set but the environment variable %s holding "
            "its password is empty",
            settings.smtp_password_env,
        )
        return False
    try:
        with _smtp(settings) as server:
            if settings.smtp_user and password:
                server.login(settings.smtp_user, password)
            server.send_message(mail)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        log.warning(
            "alert mail through %s:%d not sent: %s", settings.smtp_host, settings.smtp_port, exc
        )
        return False
    log.info("alert mailed to %s: %s", ", ".join(settings.mail_to), message.subject)
    return True


def _smtp(settings: AlertSettings) -> smtplib.SMTP:
    timeout = settings.smtp_timeout_seconds
    if settings.smtp_security == "ssl":
        context = ssl.create_default_context()
        return smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=timeout, context=context
        )
    server = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout)
    if settings.smtp_security == "starttls":
        try:
            server.starttls(context=ssl.create_default_context())
        except BaseException:
            server.close()
            raise
    return server


def send_webhook(settings: AlertSettings, message: Message) -> bool:
    import httpx  # only when a webhook is due: an idle pass stays light

    host = urlsplit(settings.webhook_url).hostname or "?"
    try:
        response = httpx.post(
            settings.webhook_url,
            json=message.payload,
            timeout=settings.webhook_timeout_seconds,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        log.warning("alert webhook to %s not sent: %s", host, type(exc).__name__)
        return False
    if response.status_code >= 300:
        log.warning("alert webhook to %s answered HTTP %d", host, response.status_code)
        return False
    log.info("alert posted to the webhook at %s: %s", host, message.subject)
    return True
