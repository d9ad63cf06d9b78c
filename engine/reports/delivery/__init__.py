"""Sending a built report: by mail (mail.py, SMTP with retries) and to chat group robots
(chat.py, WeCom and DingTalk webhooks, paced per robot), each attempt written to the
delivery log (log.py); send.py's `deliver` puts them together under one idempotency key,
so a report is sent to each target once however often it is asked.

What is sent is a `Message` (message.py): the renderers' output, whatever they drew.
"""
