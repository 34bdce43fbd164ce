"""AI platforms: OpenAI, Anthropic, Hugging Face, Groq, Replicate, Perplexity."""

from __future__ import annotations

from vaultline.scan.detectors._base import END, START, rule

DETECTORS = (
    rule(
        "openai-api-key",
        "OpenAI API key (user, project, service-account or admin)",
        # Every OpenAI key carries base64("openai") in the middle: precise and cheap.
        START + r"(sk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,74}T3BlbkFJ[A-Za-z0-9_-]{20,74})"
        + END,
        keywords=("T3BlbkFJ",),
        min_entropy=3.5,
    ),
    rule("anthropic-api-key", "Anthropic API key",
         START + r"(sk-ant-api03-[A-Za-z0-9_-]{93}AA)" + END, keywords=("sk-ant-api03-",),
         min_entropy=3.5),
    rule("anthropic-admin-key", "Anthropic admin API key",
         START + r"(sk-ant-admin01-[A-Za-z0-9_-]{93}AA)" + END, keywords=("sk-ant-admin01-",),
         min_entropy=3.5),
    rule("huggingface-token", "Hugging Face access token",
         START + r"(hf_[A-Za-z]{34})" + END, anchors=("hf_[A-Za-z]{34}",), min_entropy=3.5),
    rule("groq-api-key", "Groq API key",
         START + r"(gsk_[A-Za-z0-9]{52})" + END, keywords=("gsk_",), min_entropy=3.5),
    rule("replicate-api-token", "Replicate API token",
         START + r"(r8_[A-Za-z0-9]{37})" + END, keywords=("r8_",), min_entropy=3.5),
    rule("perplexity-api-key", "Perplexity API key",
         START + r"(pplx-[A-Za-z0-9]{48})" + END, keywords=("pplx-",), min_entropy=3.5),
)
