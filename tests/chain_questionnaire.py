"""A chain of conditions (visited -> complained -> handling: each question shown only for an
answer to the one before), shared by the navigation tests of models, storage and the app:
an answer made stale by going back must not keep the rest of the chain alive."""

QUESTIONNAIRE = """\
id: chain
version: "1"
default_language: en
title: Chain
scales:
  five: {min: 1, max: 5}
pages:
  - id: visit
    questions:
      - {id: visited, type: single_choice, text: "Visited a store?",
         options: [{value: "yes", label: "Yes"}, {value: "no", label: "No"}]}
  - id: store
    questions:
      - {id: complained, type: single_choice, show_if: "visited == 'yes'", text: "Complained?",
         options: [{value: "yes", label: "Yes"}, {value: "no", label: "No"}]}
  - id: complaint
    questions:
      - {id: handling, type: rating, scale: five, show_if: "complained == 'yes'", text: "Handling?"}
  - id: last
    questions:
      - {id: overall, type: rating, scale: five, text: "Overall?"}
follow_up:
  - when: "handling <= 2"
"""

# Answered down the chain (a complaint badly handled), then "visited" changed to "no": the
# answers to "complained" and "handling" are stale.
STALE = {"visited": "no", "complained": "yes", "handling": 1, "overall": 4}
