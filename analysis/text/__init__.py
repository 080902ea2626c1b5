"""Open-text analysis offline, in Chinese and English: segmentation, sentiment per answer,
themes (NMF on TF-IDF) and their link to scores. No Flask, no downloads at run time."""
import importlib

# Each name's module, imported on first use (PEP 562): importing a submodule
# (analysis.text.wave, for a stored wave analysis) runs this file, and importing them all
# here would load scipy.stats and jieba into every report, open answers or not.
_HOMES = {"ThemeScoreLink": "link", "compare_waves": "link", "link_themes_to_scores": "link",
          "sentiment_by_theme": "link", "LABELS": "sentiment", "SentimentResult": "sentiment",
          "SentimentScorer": "sentiment", "ThemeModel": "themes", "ThemeResults": "themes",
          "Tokenizer": "segment", "detect_lang": "segment"}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"analysis.text.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'analysis.text' has no attribute {name!r}")


__all__ = ["LABELS", "SentimentResult", "SentimentScorer", "ThemeModel", "ThemeResults",
           "ThemeScoreLink", "Tokenizer", "compare_waves", "detect_lang", "link_themes_to_scores",
           "sentiment_by_theme"]
