"""Stands in for the system browser (`BROWSER="python fake_browser.py %s"`): signs in as
$FAKE_BROWSER_SUBJECT on oidc-provider-mock's authorize page and follows the redirect."""

import os
import sys

import httpx

url = sys.argv[1]
page = httpx.post(url, data={"sub": os.environ.get("FAKE_BROWSER_SUBJECT", "someone")})
httpx.get(page.headers["location"])
