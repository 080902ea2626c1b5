"""Open-text analysis offline, in Chinese and English: segmentation, sentiment per answer,
themes (NMF on TF-IDF) and their link to scores. No Flask, no downloads at run time."""
from analysis.text.link import ThemeScoreLink, compare_waves, link_themes_to_scores, sentiment_by_theme
from analysis.text.sentiment import LABELS, SentimentResult, SentimentScorer
from analysis.text.themes import ThemeModel, ThemeResults
from analysis.text.segment import Tokenizer, detect_lang

__all__ = ["LABELS", "SentimentResult", "SentimentScorer", "ThemeModel", "ThemeResults",
           "ThemeScoreLink", "Tokenizer", "compare_waves", "detect_lang", "link_themes_to_scores",
           "sentiment_by_theme"]
