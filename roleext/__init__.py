"""roleext: turn group-chat transcripts into fine-tuning data and submissions for role-element extraction."""

__version__ = "0.1.0"
