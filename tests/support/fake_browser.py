"""Stands in for the system browser (`BROWSER="python fake_browser.py %s"`): signs in as
$FAKE_BROWSER_SUBJECT on oidc-provider-mock's authorize page and follows the redirect.

$FAKE_BROWSER_CA is the lab's CA as the lab's browsers trust it; lamefair must not lean on it."""

import os
import ssl
import sys

import httpx

url = sys.argv[1]
ca = os.environ.get("FAKE_BROWSER_CA")
verify = ssl.create_default_context(cafile=ca) if ca else True
page = httpx.post(
    url, data={"sub": os.environ.get("FAKE_BROWSER_SUBJECT", "someone")}, verify=verify
)
httpx.get(page.headers["location"])
