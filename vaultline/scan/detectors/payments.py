"""Payments and commerce: Stripe, Square, Braintree, Shopify, Shippo."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule("stripe-secret-key", "Stripe secret API key",
         START + r"(sk_(?:live|test)_[A-Za-z0-9]{24,99})" + END,
         keywords=("sk_live_", "sk_test_"), min_entropy=3.5),
    rule("stripe-restricted-key", "Stripe restricted API key",
         START + r"(rk_(?:live|test)_[A-Za-z0-9]{24,99})" + END,
         keywords=("rk_live_", "rk_test_"), min_entropy=3.5),
    rule("stripe-webhook-secret", "Stripe webhook signing secret",
         START + r"(whsec_[A-Za-z0-9]{32,64})" + END, keywords=("whsec_",), min_entropy=3.5),
    rule("square-access-token", "Square access token",
         START + r"((?:sq0atp-[A-Za-z0-9_-]{22}|EAAA[A-Za-z0-9_-]{60}))" + END,
         keywords=("sq0atp-",), anchors=("EAAA[A-Za-z0-9_-]{60}",), min_entropy=3.5),
    rule("square-oauth-secret", "Square OAuth application secret",
         START + r"(sq0csp-[A-Za-z0-9_-]{43})" + END, keywords=("sq0csp-",), min_entropy=3.5),
    rule("braintree-access-token", "PayPal Braintree production access token",
         r"(access_token\$production\$[0-9a-z]{16}\$[0-9a-f]{32})",
         keywords=("access_token$production$",)),
    rule("shopify-access-token", "Shopify admin, custom-app or private-app access token",
         START + r"(shp(?:at|ca|pa)_[a-fA-F0-9]{32})" + END,
         keywords=("shpat_", "shpca_", "shppa_"), min_entropy=3.0),
    rule("shopify-shared-secret", "Shopify app shared secret",
         START + r"(shpss_[a-fA-F0-9]{32})" + END, keywords=("shpss_",), min_entropy=3.0),
    rule("shippo-api-token", "Shippo API token",
         START + r"(shippo_(?:live|test)_[a-f0-9]{40})" + END, keywords=("shippo_",),
         min_entropy=3.0),
)
