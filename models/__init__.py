"""The shared domain: questionnaires, CSI models, expressions and storage.

Depends on neither ``survey_app`` nor ``analysis``.
"""
from .csi_model import FORMATIVE, REFLECTIVE, TEMPLATES, Construct, Model, Modifier, Template, get_template, parse_model
from .errors import CSIError, ExpressionError, ModelSpecError, ModelSyntaxError, Problem, QuestionnaireError
from .expressions import Expression, parse_expression
from .questionnaire import Questionnaire, load_questionnaire, parse_questionnaire, questionnaire_schema

__all__ = [
    "CSIError", "Construct", "Expression", "ExpressionError", "FORMATIVE", "Model", "ModelSpecError",
    "ModelSyntaxError", "Problem", "Questionnaire", "QuestionnaireError", "REFLECTIVE", "TEMPLATES",
    "Modifier", "Template", "get_template", "load_questionnaire", "parse_expression", "parse_model",
    "parse_questionnaire", "questionnaire_schema",
]
