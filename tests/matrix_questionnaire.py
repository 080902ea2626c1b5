"""A questionnaire with matrix questions (the usual CSI grid of quality aspects on a
10-point scale with a don't-know, and a fully labelled 5-point grid), shared by the web
and browser tests."""

QUESTIONNAIRE = """\
id: grid-retail
version: "1"
default_language: en
languages: [en, zh-CN]
title: {en: Store visit, zh-CN: 门店体验}
scales:
  ten:
    min: 1
    max: 10
    labels:
      1: {en: Very poor, zh-CN: 非常差}
      10: {en: Excellent, zh-CN: 非常好}
    dont_know: {code: 99, label: {en: Don't know / not applicable, zh-CN: 不知道/不适用}}
  five:
    min: 1
    max: 5
    labels:
      1: {en: Very dissatisfied, zh-CN: 非常不满意}
      2: {en: Dissatisfied, zh-CN: 不满意}
      3: {en: Neutral, zh-CN: 一般}
      4: {en: Satisfied, zh-CN: 满意}
      5: {en: Very satisfied, zh-CN: 非常满意}
pages:
  - id: quality
    title: {en: Quality, zh-CN: 质量}
    questions:
      - id: aspects
        type: matrix
        scale: ten
        text: {en: "How would you rate us on these aspects of quality?", zh-CN: 请就以下质量方面为我们评分}
        help: {en: "1 = very poor, 10 = excellent", zh-CN: 1分表示非常差，10分表示非常好}
        rows:
          - {id: q_staff, construct: perceived_quality, text: {en: Friendliness of the staff, zh-CN: 员工的友好程度}}
          - {id: q_advice, construct: perceived_quality, text: {en: Quality of the advice, zh-CN: 建议的质量}}
          - {id: q_range, construct: perceived_quality, text: {en: Range of products, zh-CN: 商品种类}}
          - {id: q_clean, construct: perceived_quality, text: {en: Cleanliness of the store, zh-CN: 门店的整洁}}
          - {id: q_wait, construct: perceived_quality, reverse: true, text: {en: Waiting time at the checkout (a long wait is a high score), zh-CN: 结账等候时间（等得越久分越高）}}
          - {id: q_returns, construct: perceived_quality, text: {en: Handling of returns, zh-CN: 退换货处理}}
          - {id: q_parking, construct: perceived_quality, text: {en: Parking, zh-CN: 停车}}
  - id: satisfaction
    questions:
      - id: sat_grid
        type: matrix
        scale: five
        required: false
        text: {en: "How satisfied are you with ...", zh-CN: 您对以下方面的满意程度}
        rows:
          - {id: s_price, construct: satisfaction, text: {en: Prices, zh-CN: 价格}}
          - {id: s_hours, construct: satisfaction, text: {en: Opening hours, zh-CN: 营业时间}}
          - {id: s_app, construct: satisfaction, text: {en: Our app, zh-CN: 我们的应用}}
      - id: comment
        type: text
        required: false
        text: {en: "Anything else?", zh-CN: 还有其他意见吗？}
"""
