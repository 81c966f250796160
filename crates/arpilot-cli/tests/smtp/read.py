"""Prints the messages a sink directory holds as JSON: recipient, Message-ID, Reply-To, subject,
the text and HTML parts decoded, and the attachments' names and sizes, and the attachments saved beside each message."""

import email
import email.policy
import json
import os
import sys

def save(d, name, m):
    """Writes each attachment beside the message (NAME.eml.K) and returns their paths."""
    paths = []
    for k, a in enumerate(m.iter_attachments()):
        p = os.path.join(d, f"{name}.{k}")
        with open(p, "wb") as f:
            f.write(a.get_content())
        paths.append(p)
    return paths


out = []
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if not name.endswith(".eml"):
        continue
    with open(os.path.join(d, name), "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    text = m.get_body(preferencelist=("plain",))
    html = m.get_body(preferencelist=("html",))
    out.append(
        {
            "file": name,
            "rcpt": m["X-Rcpt"],
            "to": str(m["To"]),
            "from": str(m["From"]),
            "message_id": str(m["Message-ID"]),
            "subject": str(m["Subject"]),
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
            "attachments": [
                [a.get_filename(), len(a.get_content())] for a in m.iter_attachments()
            ],
            "attachment_files": save(d, name, m),
        }
    )
json.dump(out, sys.stdout)
