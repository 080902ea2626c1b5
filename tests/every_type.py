"""A questionnaire with every question type (and an integer-coded single choice), shared by
the answer tests of models and of the survey app."""

QUESTIONNAIRE = """\
id: types
version: "1"
default_language: en
languages: [en, zh-CN]
title: {en: Every type, zh-CN: 所有题型}
scales:
  five:
    min: 1
    max: 5
    labels: {1: {en: Poor, zh-CN: 差}, 5: {en: Great, zh-CN: 好}}
    dont_know: {code: 99, label: {en: Don't know, zh-CN: 不知道}}
pages:
  - id: p1
    questions:
      - {id: sat, type: rating, scale: five, text: {en: Satisfied, zh-CN: 满意}}
      - id: coded
        type: single_choice
        text: {en: Coded choice, zh-CN: 编码选择}
        options:
          - {value: 1, label: {en: One, zh-CN: 一}}
          - {value: 2, label: {en: Two, zh-CN: 二}}
          - {value: "3a", label: {en: Three, zh-CN: 三}}
      - id: cats
        type: multiple_choice
        max_selected: 3
        text: {en: Categories, zh-CN: 品类}
        options:
          - {value: home, label: {en: Home, zh-CN: 家居}}
          - {value: home_goods, label: {en: Home goods, zh-CN: 家居用品}}
          - {value: 7, label: {en: Seven, zh-CN: 七}}
          - {value: "x y", label: {en: Spaced, zh-CN: 空格}}
  - id: p2
    show_if: "coded == 1 and 'home' in cats"
    questions:
      - {id: note, type: text, max_length: 40, text: {en: Note, zh-CN: 备注}}
      - {id: visits, type: number, integer: true, min: 0, max: 1000, text: {en: Visits, zh-CN: 次数}}
      - {id: spend, type: number, min: -50, max: 1000000, text: {en: Spend, zh-CN: 花费}}
      - id: aspects
        type: matrix
        scale: five
        required: false
        text: {en: Aspects, zh-CN: 方面}
        rows:
          - {id: aspect_a, construct: quality, text: {en: Aspect A, zh-CN: 方面甲}}
          - {id: aspect_b, construct: quality, reverse: true, text: {en: Aspect B, zh-CN: 方面乙}}
"""
