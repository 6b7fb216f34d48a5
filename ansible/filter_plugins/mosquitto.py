"""``mosquitto_hash``: a Mosquitto 2 password-file hash ($7$, PBKDF2-SHA512).

Deterministic for a given salt, so the templated password file only changes when a
password or a user does (``mosquitto_passwd`` draws a new salt every time, which would
make every run report a change). The salt comes from the credentials folder."""

import base64
import hashlib

ITERATIONS = 101  # what mosquitto_passwd uses


def mosquitto_hash(password, salt):
    salt_bytes = str(salt).encode("utf-8")[:12]
    digest = hashlib.pbkdf2_hmac("sha512", str(password).encode("utf-8"), salt_bytes, ITERATIONS)
    encoded = base64.b64encode(salt_bytes).decode(), base64.b64encode(digest).decode()
    return f"$7${ITERATIONS}${encoded[0]}${encoded[1]}"


class FilterModule:
    def filters(self):
        return {"mosquitto_hash": mosquitto_hash}
